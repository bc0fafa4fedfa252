"""The Alpaca venue (US equities) behind the ExchangePort, through alpaca-py's TradingClient.
The only package that imports alpaca.

Choices, and why:
- Symbols: Robson says "AAPL/USD", Alpaca says "AAPL". Only the configured symbols are traded; the rest are
  UnknownSymbol, as on the paper venue.
- Retries are Robson's decision: alpaca-py retries 429 and 504 three times, 3 s apart, by itself, and its
  TradingClient neither forwards `retry_attempts` nor accepts 0. So the client's retry count and its requests
  session (which has no timeout at all by default) are set right after construction (`session.quiet`).
- Instruments come from GET /v2/assets/{symbol} (only `active` and `tradable` assets count). Tick 0.01 (sub-penny
  prices exist only under $1), step 1 share and min 1 share even when the asset is `fractionable`: Alpaca accepts
  fractions only on market/day orders, never on the stops, targets and brackets Robson rests. Min notional 0.
- last_price is the latest trade from the market data API (GET /v2/stocks/trades/latest), another alpaca-py
  client; its base URL follows `base_url` when one is given, so one fake serves both. The data API sends prices as
  JSON numbers: the Decimal is built from their shortest text (repr), never from binary float arithmetic.
- Fees are zero: Alpaca charges no commission on US equities (the SEC/FINRA pass-through on sells is not modelled).
- Balances: "USD" free = min(cash, buying power): Robson trades unlevered, so margin buying power never counts;
  locked = the rest of the cash (held for open buys). One balance per position (asset "AAPL"); locked = shares
  held for open sell orders (qty - qty_available).
- Fills: an Alpaca order carries only cumulative `filled_qty` / `filled_avg_price`, so the executions come from
  GET /v2/account/activities/FILL (one Fill per execution, the activity id as trade id; Robson dedups on it).
  Activities may trail the order for a moment: a report then carries fewer fills; the next one catches up.
- Market hours: a MARKET order (or a bracket with a market entry) is refused while GET /v2/clock says the market is
  closed (MarketClosed): Alpaca would queue it for the open at an unknown price.
- OCO: Alpaca's exit-only OCO is ONE order (the take-profit limit, sent under the target's client order id) with
  the stop as its leg, and Alpaca names the leg itself. Robson's stop id is remembered in this process and
  resolved through the parent; after a restart the stop leg is still reported by open_orders (under Alpaca's id
  when this process did not place it), but get_order(stop id) cannot find it. See the report on ports.
- Order types: STOP_MARKET -> stop, TAKE_PROFIT_LIMIT -> a plain limit (a resting limit beyond the market already
  waits for the price; refused when its trigger differs from its limit), trailing stops are reported as
  STOP_MARKET at their current stop. Resting orders are GTC; market orders DAY.
- Every error goes through `translate` once; messages are one line and never carry the keys.
"""

from __future__ import annotations

from robson.execution.adapters.alpaca.errors import MarketClosed, translate
from robson.execution.adapters.alpaca.exchange import AlpacaExchange

__all__ = ["AlpacaExchange", "MarketClosed", "translate"]
