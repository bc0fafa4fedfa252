"""Time: the clock every use case reads, and the simulated one a replay moves."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SimulatedClock(Clock, Protocol):
    """Time that moves only when the loop that owns it says so (the demo, a backtest); never backwards."""

    def set(self, moment: datetime) -> None: ...

    def advance(self, delta: timedelta) -> None: ...
