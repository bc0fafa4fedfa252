"""A whole Robson (real database, real paper venue, manual clock) for use-case tests, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from robson import bootstrap
from robson.clock import ManualClock
from robson.config import ExitSettings, Settings
from robson.notify.log import LogNotifier
from tests.conftest import DatabaseTarget

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
AppFactory = Callable[[], bootstrap.App]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def _builds(database_target: DatabaseTarget, clock: ManualClock, **options: Any) -> Iterator[AppFactory]:
    """A factory of Robsons over the test's database (each call: a fresh process's view of the same ledger and
    paper venue), closing every one it built afterwards."""
    built: list[bootstrap.App] = []

    def factory() -> bootstrap.App:
        app = bootstrap.build(database_target.url, schema=database_target.schema, clock=clock, actor="test", **options)
        built.append(app)
        return app

    yield factory
    for app in built:
        app.close()


@pytest.fixture
def make_app(database_target: DatabaseTarget, clock: ManualClock) -> Iterator[AppFactory]:
    """Builds a Robson over the test's database; each call is a fresh process's view of it."""
    yield from _builds(database_target, clock)


@pytest.fixture
def app(make_app: AppFactory) -> bootstrap.App:
    app = make_app()
    app.market.reset({"USDT": Decimal("10000")})
    return app


@pytest.fixture
def make_internal(database_target: DatabaseTarget, clock: ManualClock) -> Iterator[AppFactory]:
    """Builds a Robson whose default strategy is protected internally (the Iron Exit Protocol)."""
    settings = Settings(exits={"default": ExitSettings(mode="internal")})
    yield from _builds(database_target, clock, settings=settings, notifier=LogNotifier())


@pytest.fixture
def internal(make_internal: AppFactory) -> bootstrap.App:
    """A Robson protected internally, its paper account funded."""
    app = make_internal()
    app.market.reset({"USDT": Decimal("10000")})
    return app
