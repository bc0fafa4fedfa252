"""What every use case needs: the ports and the policy, wired by the composition root."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from robson.domain.errors import InvalidValue
from robson.domain.instrument import Instrument
from robson.domain.protection import ProtectionMode
from robson.domain.venue import Capability
from robson.exits.policy import ExitPolicy
from robson.ports import Clock, ExchangePort, Notifier, UnitOfWork
from robson.risk.limits import RiskLimits
from robson.risk.sizing import Costs
from robson.services.errors import NotFound, Refused
from robson.services.routing import ExecutionRules


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often an order whose outcome was unknown (and which the venue shows it does not have) is sent again."""

    attempts: int = 4  # sends in all, the first included
    first_wait_seconds: float = 0.2
    max_wait_seconds: float = 5.0


@dataclass(frozen=True, slots=True)
class Context:
    unit_of_work: Callable[[], UnitOfWork]
    exchange: ExchangePort
    clock: Clock
    strategies: Mapping[str, RiskLimits]  # always holds "default"
    slippage_rate: Decimal = Decimal("0")  # per side, the allowance the sizing budgets for market fills
    max_entry_deviation_percent: Decimal = Decimal("1")
    quote: str = "USDT"  # the account currency: equity and P&L are measured in it
    actor: str = "robson"  # who the audit trail names for what these use cases do
    # where the alerts sent directly go (the monitor's, a venue's ban); the alerts a commit records (the policy's) go
    # through the event bus, to which the composition root subscribes this same notifier (a log notifier)
    notifier: Notifier | None = None
    groups: Mapping[str, str] = field(default_factory=dict)  # symbol -> sector or category, for the group limit
    exit_policies: Mapping[str, ExitPolicy] = field(default_factory=dict)  # strategy -> the monitor's exit rules
    # how long a close's marketable limit (or a market exit the venue left working) may work before the loop sends
    # the rest at market
    close_fallback_seconds: Decimal = Decimal("2")
    # the ledger's housekeeping, run by the monitor between passes so that no exit's commit pays for it
    # (SQLite: move the write-ahead log into the database file)
    housekeeping: Callable[[], None] = lambda: None
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy())  # resending after an unknown outcome
    sleep: Callable[[float], None] = lambda seconds: None  # the backoff between sends (the root sleeps)
    stopwatch: Callable[[], float] = lambda: 0.0  # for the execution log's latency (the root: a wall-clock timer)
    execution: ExecutionRules = field(default_factory=lambda: ExecutionRules())  # slippage, spread, partial fills
    # the monitor holds a price further than this from the last accepted one (within the window) until confirmed
    price_band_percent: Decimal = Decimal("10")
    price_band_seconds: Decimal = Decimal("60")

    def _exits_of(self, strategy: str) -> ExitPolicy | None:
        return self.exit_policies.get(strategy) or self.exit_policies.get("default")

    def protection(self, strategy: str) -> ProtectionMode:
        """How the strategy's positions are protected: on the venue (an OCO rests there) or internally."""
        policy = self._exits_of(strategy)
        return policy.mode if policy is not None else ProtectionMode.EXCHANGE

    def require_protection(self, mode: ProtectionMode) -> None:
        """Protection on the venue rests a stop and a target together, one cancelling the other: a venue that offers
        no OCO cannot hold it (two separate orders would each claim the whole position)."""
        if mode is ProtectionMode.EXCHANGE and Capability.OCO not in self.exchange.capabilities:
            raise Refused(
                f"VENUE_OCO: {self.exchange.name} cannot rest a stop and a target together (no OCO): protect this "
                'strategy internally ([exits.<strategy>] mode = "internal")'
            )

    def exit_policy(self, strategy: str) -> ExitPolicy | None:
        """The strategy's exit rules, or None when it has none beyond its stop and target."""
        policy = self._exits_of(strategy)
        if policy is None or (policy.trailing is None and not policy.scale_out and policy.time_exit_hours is None):
            return None
        return policy

    def limits(self, strategy: str) -> RiskLimits:
        if strategy not in self.strategies:
            known = ", ".join(sorted(self.strategies))
            raise InvalidValue(f"unknown strategy {strategy!r} (configured: {known})")
        return self.strategies[strategy]

    def instrument(self, symbol: str) -> Instrument:
        instruments = self.exchange.instruments()
        normal = symbol.strip().upper()
        if normal not in instruments:
            raise NotFound(
                f"unknown symbol {symbol!r} on {self.exchange.name} (known: {', '.join(sorted(instruments))})"
            )
        return instruments[normal]

    def costs(self, symbol: str) -> Costs:
        """The costs the sizing budgets for: the venue's taker fee on both fills, plus the slippage allowance."""
        return Costs(self.exchange.fee_rates(symbol).taker, self.slippage_rate)
