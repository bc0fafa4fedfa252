"""Reading Binance's user-data messages (wire.py), without a network: the WebSocket API's wrapped events and a
listenKey stream's bare ones alike, and an executionReport read as a REST order."""

from __future__ import annotations

from typing import Any

import ccxt.pro
import pytest

from robson.domain.errors import InvalidValue
from robson.execution.adapters.binance.wire import _order_of_execution, _point_at, _user_event
from robson.ports import Fatal

EVENT = {"e": "executionReport", "s": "BTCUSDT"}


@pytest.mark.parametrize(
    ("message", "event"),
    [
        ({"subscriptionId": 0, "event": EVENT}, EVENT),  # the WebSocket API
        (EVENT, EVENT),  # a listenKey stream (older ccxt versions)
        ({"id": "1", "status": 200, "result": {"subscriptionId": 0}}, None),  # a reply: ccxt's
        ({"id": "2", "status": 401, "error": {"code": -2015, "msg": "Invalid API-key"}}, None),
    ],
)
def test_the_event_a_message_carries(message: dict[str, Any], event: dict[str, Any] | None) -> None:
    assert _user_event(message) == event


@pytest.mark.parametrize("message", [[1, 2], "text", {"subscriptionId": 0, "event": [1]}, {"s": "BTCUSDT"}, {"e": ""}])
def test_a_message_without_an_event_or_a_reply_is_refused(message: object) -> None:
    with pytest.raises(InvalidValue):
        _user_event(message)


def _report(**changes: object) -> dict[str, object]:
    event: dict[str, object] = {
        "s": "BTCUSDT", "c": "cancel-7", "S": "SELL", "o": "LIMIT", "q": "1.0", "p": "31000", "P": "0", "X": "CANCELED",
        "i": 7, "z": "0.4", "g": -1, "T": 1700000000000, "x": "CANCELED", "C": "mine", "L": "0", "l": "0",
        "n": "0", "N": None, "t": -1,
    }  # fmt: skip
    return {**event, **changes}


def test_an_execution_report_reads_as_a_rest_order() -> None:
    cancelled = _order_of_execution(_report())
    assert cancelled == {
        "symbol": "BTCUSDT", "clientOrderId": "cancel-7", "origClientOrderId": "mine", "side": "SELL", "type": "LIMIT",
        "origQty": "1.0", "price": "31000", "stopPrice": "0", "status": "CANCELED", "orderId": 7, "executedQty": "0.4",
        "orderListId": -1, "transactTime": 1700000000000, "fills": [],
    }  # fmt: skip
    traded = _order_of_execution(_report(x="TRADE", X="FILLED", C="", L="31000", l="0.6", n="18.6", N="USDT", t=9))
    assert "origClientOrderId" not in traded
    assert traded["fills"] == [
        {
            "tradeId": 9,
            "price": "31000",
            "qty": "0.6",
            "commission": "18.6",
            "commissionAsset": "USDT",
            "time": 1700000000000,
        }
    ]


def test_an_execution_report_without_a_field_breaks_the_contract() -> None:
    event = _report()
    del event["z"]
    with pytest.raises(Fatal, match="'z'"):
        _order_of_execution(event)


def test_a_test_venue_keeps_every_websocket_on_itself() -> None:
    client = ccxt.pro.binance()  # no connection: its session opens only with the first request
    _point_at(client, "http://127.0.0.1:9000", "ws://127.0.0.1:9000/ws")
    streams = client.urls["api"]["ws"]
    assert (streams["spot"], streams["ws-api"]["spot"]) == ("ws://127.0.0.1:9000/ws", "ws://127.0.0.1:9000/ws-api/v3")
    _point_at(client, None, None, "ws://127.0.0.1:9001/ws-api/v3")
    assert streams["ws-api"]["spot"] == "ws://127.0.0.1:9001/ws-api/v3"
