"""Binance spot through ccxt: the only package that imports ccxt.

BinanceExchange implements ExchangePort with ccxt's synchronous client; BinanceFeed implements PriceFeed and
BinanceOrderStream implements OrderStream (the account's user-data stream) with ccxt.pro websockets, each on a
background thread. Amounts are read from the raw Binance strings in each response's
`info` (ccxt's parsed numbers are floats); every ccxt error becomes a ports error in one place, `translate`.

Mirrors the paper venue where the engine can tell: an OCO returns (stop, target), its target leg (a LIMIT_MAKER on
Binance) is reported as TAKE_PROFIT_LIMIT at the target like the order the engine recorded, open orders come
oldest first, and an unknown or closed client order id is UnknownOrder.
"""

from __future__ import annotations

from robson.execution.adapters.binance.errors import VenueReply, translate
from robson.execution.adapters.binance.exchange import BinanceExchange
from robson.execution.adapters.binance.feed import BinanceFeed
from robson.execution.adapters.binance.order_stream import BinanceOrderStream

__all__ = ["BinanceExchange", "BinanceFeed", "BinanceOrderStream", "VenueReply", "translate"]
