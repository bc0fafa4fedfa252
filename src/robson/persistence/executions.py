"""The execution log: one row per attempt to execute an order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select

from robson.domain.orders import OrderType
from robson.domain.values import OrderSide
from robson.persistence.tables import execution_log
from robson.ports import ExecutionLog, ExecutionRecord

_INSERT = insert(execution_log)


class SqlExecutionLog:
    def __init__(self, session: Connection) -> None:
        self.session = session

    def add(self, record: ExecutionRecord) -> None:
        self.session.execute(_INSERT, _row(record))

    def list(self, symbol: str | None = None, limit: int | None = None) -> list[ExecutionRecord]:
        """The newest `limit` records (all when None), oldest first; of one symbol when given."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        query = select(execution_log).order_by(execution_log.c.id.desc())
        if symbol is not None:
            query = query.where(execution_log.c.symbol == symbol)
        if limit is not None:
            query = query.limit(limit)
        rows = self.session.execute(query).mappings().all()
        return [_record(row) for row in reversed(rows)]


def _row(record: ExecutionRecord) -> dict[str, Any]:
    return {
        "at": record.at,
        "venue": record.venue,
        "operation_id": record.operation_id,
        "client_order_id": record.client_order_id,
        "symbol": record.symbol,
        "side": record.side.value,
        "type": record.type.value,
        "role": record.role,
        "requested_price": record.requested_price,
        "executed_price": record.executed_price,
        "slippage_bps": record.slippage_bps,
        "requested_quantity": record.requested_quantity,
        "filled_quantity": record.filled_quantity,
        "fees": record.fees,
        "latency_ms": record.latency_ms,
        "retries": record.retries,
        "status": record.status,
        "error": record.error,
        "spread_bps": record.spread_bps,
        "volatility_bps": record.volatility_bps,
    }


def _record(row: RowMapping) -> ExecutionRecord:
    values = dict(row)
    values["side"] = OrderSide(values["side"])
    values["type"] = OrderType(values["type"])
    return ExecutionRecord(**values)


_: type[ExecutionLog] = SqlExecutionLog  # mypy holds it to the port
