"""Alpaca's orders and FILL activities read back as Robson's order reports and fills."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from alpaca.trading.enums import OrderSide as AlpacaSide
from alpaca.trading.models import Order as AlpacaOrder

from robson.domain.errors import InvalidValue
from robson.domain.fills import Fill
from robson.domain.values import ZERO, OrderSide
from robson.execution.adapters.alpaca.errors import _one_line
from robson.execution.adapters.alpaca.wire import (
    _ACTIVITY_PAGE,
    _ACTIVITY_PAGES,
    QUOTE,
    _decimal,
    _order_type,
    _status,
    _time,
)
from robson.ports import Fatal, OrderReport

FILL_ACTIVITIES = "/account/activities/FILL"

Activity = Mapping[str, object]  # one FILL activity as Alpaca's JSON has it: read by _fill
Params = dict[str, str | int]  # the query of one page of activities


@dataclass(frozen=True, slots=True)
class Found:
    """An Alpaca order and the names Robson knows it by."""

    order: AlpacaOrder
    client_order_id: str
    list_id: str | None


def report(item: Found, symbol: str, executions: list[Activity], now: Callable[[], datetime]) -> OrderReport:
    """The order as Robson reports it; `executions`: its FILL activities; `now`: the time of a fill that has none."""
    order = item.order
    side = OrderSide.BUY if order.side == AlpacaSide.BUY else OrderSide.SELL
    filled = _decimal(order.filled_qty) or ZERO
    fills = tuple(_fill(execution, item.client_order_id, symbol, side, now) for execution in executions)
    return OrderReport(
        client_order_id=item.client_order_id,
        exchange_order_id=str(order.id),
        symbol=symbol,
        side=side,
        type=_order_type(order),
        status=_status(order),
        quantity=_decimal(order.qty) or filled,
        filled_quantity=filled,
        price=_decimal(order.limit_price),
        stop_price=_decimal(order.stop_price),
        list_id=item.list_id,
        fills=fills,
    )


def _fill(execution: Activity, client_order_id: str, symbol: str, side: OrderSide, now: Callable[[], datetime]) -> Fill:
    try:
        return Fill(
            trade_id=str(execution["id"]),
            client_order_id=client_order_id,
            symbol=symbol,
            side=side,
            price=_decimal(execution["price"]) or ZERO,
            quantity=_decimal(execution["qty"]) or ZERO,
            fee=ZERO,
            fee_asset=QUOTE,
            time=_time(execution.get("transaction_time")) or now(),
        )
    except (KeyError, InvalidValue, ArithmeticError) as error:
        raise Fatal(f"Alpaca sent a fill Robson cannot read: {_one_line(str(error))}") from None


def fill_activities(get: Callable[[Params], object], orders: Iterable[AlpacaOrder]) -> dict[str, list[Activity]]:
    """The FILL activities of these orders, by order id, read in one pass from the oldest order's submission.
    `get(params)`: one page of GET /account/activities/FILL."""
    wanted = {str(order.id): order for order in orders}
    if not wanted:
        return {}
    since = min(order.submitted_at for order in wanted.values()) - timedelta(seconds=1)
    params: Params = {"after": since.isoformat(), "direction": "asc", "page_size": _ACTIVITY_PAGE}
    result: dict[str, list[Activity]] = {}
    for _ in range(_ACTIVITY_PAGES):
        page = get(dict(params))
        if not isinstance(page, list):
            raise Fatal("Alpaca answered the FILL activities with something other than a list")
        for activity in page:
            if isinstance(activity, dict) and str(activity.get("order_id")) in wanted:
                result.setdefault(str(activity["order_id"]), []).append(activity)
        if len(page) < _ACTIVITY_PAGE:
            break
        last: object = page[-1]
        if not isinstance(last, dict) or not isinstance(last.get("id"), str):
            raise Fatal("Alpaca answered a page of FILL activities that ends without an activity id")
        params["page_token"] = last["id"]
    return result
