"""A whole Robson (real database, real paper venue, manual clock) for use-case tests, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal

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


@pytest.fixture
def make_app(database_target: DatabaseTarget, clock: ManualClock) -> Iterator[AppFactory]:
    """Builds a Robson over the test's database; each call is a fresh process's view of it."""
    built: list[bootstrap.App] = []

    def factory() -> bootstrap.App:
        app = bootstrap.build(database_target.url, schema=database_target.schema, clock=clock, actor="test")
        built.append(app)
        return app

    yield factory
    for app in built:
        app.close()


@pytest.fixture
def app(make_app: AppFactory) -> bootstrap.App:
    app = make_app()
    app.market.reset({"USDT": Decimal("10000")})
    return app


@pytest.fixture
def internal(database_target: DatabaseTarget, clock: ManualClock) -> Iterator[bootstrap.App]:
    """A Robson whose default strategy is protected internally (the Iron Exit Protocol)."""
    app = bootstrap.build(
        database_target.url,
        schema=database_target.schema,
        clock=clock,
        settings=Settings(exits={"default": ExitSettings(mode="internal")}),
        actor="test",
        notifier=LogNotifier(),
    )
    app.market.reset({"USDT": Decimal("10000")})
    yield app
    app.close()
