"""Plain, JSON-ready views of the domain for the entry points: keys are the domain's own names and every
decimal is a string, so nothing is lost on the way out."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from robson.domain.operation import Operation
from robson.domain.orders import Order, OrderRole
from robson.domain.values import Side
from robson.risk.checks import CheckResult, Decision
from robson.risk.policy_state import Hold
from robson.risk.sizing import SizingResult
from robson.services.policy import RiskStatus
from robson.services.portfolio import PortfolioView

Json = dict[str, object]


def money(value: Decimal | None) -> str | None:
    """An exact decimal, without trailing noise, but with at least two places: 499.50000 -> '499.50'."""
    if value is None:
        return None
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        normal = normal.quantize(Decimal("0.01"))
    return f"{normal:f}"


def number(value: Decimal | None) -> str | None:
    """An exact decimal without trailing zeros: 0.005550 -> '0.00555'."""
    if value is None:
        return None
    return f"{value.normalize():f}"


def when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def sizing_view(result: SizingResult) -> Json:
    return {
        "method": result.method,
        "side": result.side.value,
        "entry_price": money(result.entry),
        "stop_price": money(result.stop),
        "quantity": number(result.quantity),
        "position_value": money(result.position_value),
        "risk_amount": money(result.risk_amount),
        "risk_budget": money(result.risk_budget),
        "position_percent": money(result.position_percent),
        "loss_per_unit": money(result.loss_per_unit),
        "is_capped": result.is_capped,
        "cap_reason": result.cap_reason,
    }


def order_view(order: Order) -> Json:
    return {
        "client_order_id": order.client_order_id,
        "exchange_order_id": order.exchange_order_id,
        "role": order.role.value if order.role else None,
        "side": order.side.value,
        "type": order.type.value,
        "status": order.status.value,
        "quantity": number(order.quantity),
        "filled_quantity": number(order.filled_quantity),
        "price": money(order.price),
        "stop_price": money(order.stop_price),
        "list_id": order.list_id,
        "reject_reason": order.reject_reason,
    }


def operation_view(op: Operation, detail: bool = False) -> Json:
    position = op.position
    view: Json = {
        "id": op.id,
        "symbol": op.symbol,
        "side": op.side.value,
        "strategy": op.strategy,
        "status": op.status.value,
        "close_reason": op.close_reason.value if op.close_reason else None,
        "entry_price": money(op.entry_price),
        "stop_price": money(op.stop_price),
        "target_price": money(op.target_price),
        "quantity": number(op.quantity),
        "risk_amount": money(op.risk_amount),
        "position_status": position.status.value if position.tranches else None,  # no fill yet: no position
        "position_quantity": number(position.quantity),
        "average_entry_price": money(position.average_entry),
        "realized_pnl": money(position.realized_pnl),
        "fees": money(position.fees_paid),
        "slippage_past_stop": money(op.slippage_past_stop),
        "protected": op.is_protected,
        "protection": op.protection.value,
        "note": op.note,
        "created_at": when(op.created_at),
        "activated_at": when(op.activated_at),
        "closed_at": when(op.closed_at),
    }
    if op.pending_add is not None:
        add = op.pending_add
        view["pending_add"] = {
            "entry_price": money(add.entry_price),
            "quantity": number(add.quantity),
            "stop_price": money(add.stop_price),
            "risk_amount": money(add.risk_amount),
            "planned_at": when(add.planned_at),
        }
    if detail:
        view["orders"] = [order_view(o) for o in op.orders]
        view["tranches"] = [
            {
                "trade_id": t.trade_id,
                "price": money(t.price),
                "quantity": number(t.quantity),
                "fee": money(t.fee),
                "time": when(t.time),
            }
            for t in position.tranches
        ]
        view["trades"] = [
            {
                "trade_id": t.trade_id,
                "quantity": number(t.quantity),
                "entry_price": money(t.entry_price),
                "exit_price": money(t.exit_price),
                "fees": money(t.fees),
                "pnl": money(t.pnl),
                "r_multiple": number(t.r_multiple.quantize(Decimal("0.0001"))) if t.r_multiple is not None else None,
                "exit_time": when(t.exit_time),
            }
            for t in position.trades
        ]
    return view


def _leg(order: Order | None) -> Json | None:
    if order is None:
        return None
    return {
        "price": money(order.stop_price or order.price),
        "client_order_id": order.client_order_id,
        "exchange_order_id": order.exchange_order_id,
        "list_id": order.list_id,
    }


def protection_view(op: Operation) -> Json:
    """What guards an open position (the resting stop and target, or the monitor in internal mode) and how the
    entry filled against the plan: slippage_bps > 0 is worse than planned."""
    live = op.open_orders()
    stop = next((o for o in live if o.role is OrderRole.STOP), None)
    target = next((o for o in live if o.role is OrderRole.TARGET), None)
    average = op.position.average_entry if op.position.tranches else None
    slippage = None
    if average is not None and op.entry_price:
        worse = average - op.entry_price if op.side is Side.LONG else op.entry_price - average
        slippage = number((worse / op.entry_price * 10000).quantize(Decimal("0.01")))
    return {
        "mode": op.protection.value,
        "stop_price": money(op.stop_price),
        "target_price": money(op.target_price),
        "stop_order": _leg(stop),
        "target_order": _leg(target),
        "planned_entry": money(op.entry_price),
        "tranches": len(op.position.tranches),
        "last_fill_price": money(op.position.tranches[-1].price) if op.position.tranches else None,
        "last_fill_quantity": number(op.position.tranches[-1].quantity) if op.position.tranches else None,
        "filled_quantity": number(op.position.quantity),
        "average_entry": money(average),
        "slippage_bps": slippage,
    }


def check_view(check: CheckResult) -> Json:
    return {
        "code": check.code,
        "passed": check.passed,
        "limit": check.limit,
        "measured": check.measured,
        "reason": check.reason,
        "at_execution": check.at_execution,  # depends on the market: judged again at its price on execute
    }


def decision_view(decision: Decision) -> Json:
    return {
        "approved": decision.approved,
        "checks": [check_view(c) for c in decision.checks],
        "warnings": list(decision.warnings),
    }


def hold_view(hold: Hold) -> Json:
    return {
        "code": hold.code,
        "state": hold.state.value,
        "reason": hold.reason,
        "since": when(hold.since),
        "lifts": hold.lifts,
    }


def risk_status_view(status: RiskStatus) -> Json:
    policy = status.policy
    return {
        "state": status.state.value,
        "holds": [hold_view(h) for h in policy.holds],
        "quote": status.quote,
        "equity": money(policy.equity),
        "peak_equity": money(policy.peak_equity),
        "drawdown_percent": number(policy.drawdown_percent.quantize(Decimal("0.0001"))),
        "risk_per_trade_percent": number(status.risk_percent),
        "tiers": [
            {
                "code": t.code,
                "measured": number(t.measured.quantize(Decimal("0.0001"))),
                "limit": number(t.limit),
                "unit": t.unit.strip(),
                "tripped": t.tripped,
                "lifts": t.lifts,
            }
            for t in status.tiers
        ],
        "heat": money(status.heat),
        "heat_percent": number(status.heat_percent.quantize(Decimal("0.0001"))),
        "heat_limit_percent": number(status.heat_limit),
        "exposure": money(status.exposure),
        "exposure_percent": number(status.exposure_percent.quantize(Decimal("0.0001"))),
        "exposure_limit_percent": number(status.exposure_limit),
        "active_operations": status.active_operations,
        "max_operations": status.max_operations,
        "trades_today": status.trades_today,
        "max_trades_per_day": status.max_trades,
        "pnl": {
            "realized_day": money(policy.realized_day),
            "realized_week": money(policy.realized_week),
            "realized_month": money(policy.realized_month),
            "unrealized": money(policy.unrealized),
            "day_start_equity": money(policy.day_start_equity),
            "week_start_equity": money(policy.week_start_equity),
            "month_start_equity": money(policy.month_start_equity),
        },
        "loss_streak": policy.effective_streak,
        "updated_at": when(policy.updated_at),
    }


def portfolio_view(view: PortfolioView) -> Json:
    return {
        "quote": view.quote,
        "capital": money(view.equity),
        "available": money(view.available),
        "unrealized_pnl": money(view.unrealized_pnl),
        "realized_pnl_today": money(view.realized_pnl_today),
        "active_operations": view.active_operations,
        "positions": [
            {
                **operation_view(line.operation),
                "last_price": money(line.last_price),
                "unrealized_pnl": money(line.unrealized_pnl),
            }
            for line in view.positions
        ],
    }
