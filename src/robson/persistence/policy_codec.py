"""PolicyState as JSON, exactly: Decimals as their strings (digits and exponent kept), datetimes as ISO 8601
with their offset, the day as an ISO date, holds as objects. decode(encode(state)) == state, field by field.

Every field of PolicyState has its codec in FIELDS; encoding a state with a field missing there fails loudly,
and a test checks that the two agree. Decoding refuses unknown keys and values of the wrong type; a field
with a default may be absent (a state written before that field existed).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from robson.risk.policy_state import Hold, PolicyState, TradingState

VERSION = 1


class PolicyDataError(ValueError):
    """The stored policy state is not a state this code can read."""


# ---- values ------------------------------------------------------------------------------------


def _expect(value: Any, kind: type, what: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PolicyDataError(f"{what}: expected {kind.__name__}, got {type(value).__name__} {value!r}")
    return value


def _encode_decimal(value: Decimal) -> str:
    if not isinstance(value, Decimal):
        raise TypeError(f"expected a Decimal, got {type(value).__name__}: {value!r}")
    return str(value)


def _decode_decimal(value: Any, what: str) -> Decimal:
    try:
        return Decimal(_expect(value, str, what))
    except InvalidOperation as error:
        raise PolicyDataError(f"{what}: not a decimal: {value!r}") from error


def _encode_datetime(value: datetime) -> str:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
    if value.utcoffset() is None:
        raise ValueError(f"the policy state holds aware datetimes only, got {value!r}")
    return value.isoformat()


def _decode_datetime(value: Any, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(_expect(value, str, what))
    except ValueError as error:
        raise PolicyDataError(f"{what}: not an ISO 8601 datetime: {value!r}") from error
    if parsed.utcoffset() is None:
        raise PolicyDataError(f"{what}: a datetime without an offset: {value!r}")
    return parsed


def _encode_date(value: date) -> str:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"expected a date, got {type(value).__name__}: {value!r}")
    return value.isoformat()


def _decode_date(value: Any, what: str) -> date:
    try:
        return date.fromisoformat(_expect(value, str, what))
    except ValueError as error:
        raise PolicyDataError(f"{what}: not an ISO date: {value!r}") from error


def _encode_hold(hold: Hold) -> dict[str, Any]:
    return {
        "code": hold.code,
        "state": hold.state.value,
        "reason": hold.reason,
        "since": _encode_datetime(hold.since),
        "until": None if hold.until is None else _encode_datetime(hold.until),
    }


def _decode_hold(value: Any, what: str) -> Hold:
    data = _expect(value, dict, what)
    if set(data) != {"code", "state", "reason", "since", "until"}:
        raise PolicyDataError(f"{what}: unexpected keys {sorted(data)}")
    try:
        state = TradingState(_expect(data["state"], str, f"{what}.state"))
    except ValueError as error:
        raise PolicyDataError(f"{what}.state: not a trading state: {data['state']!r}") from error
    until = data["until"]
    return Hold(
        code=_expect(data["code"], str, f"{what}.code"),
        state=state,
        reason=_expect(data["reason"], str, f"{what}.reason"),
        since=_decode_datetime(data["since"], f"{what}.since"),
        until=None if until is None else _decode_datetime(until, f"{what}.until"),
    )


def _decode_plain(kind: type) -> Callable[[Any, str], Any]:
    return lambda value, what: _expect(value, kind, what)


def _tuple_of(
    encode: Callable[[Any], Any], decode: Callable[[Any, str], Any]
) -> tuple[Callable[[Any], Any], Callable[[Any, str], Any]]:
    def decode_all(value: Any, what: str) -> tuple[Any, ...]:
        items = _expect(value, list, what)
        return tuple(decode(item, f"{what}[{index}]") for index, item in enumerate(items))

    return (lambda values: [encode(item) for item in values]), decode_all


def _identity(value: Any) -> Any:
    return value


# ---- fields ------------------------------------------------------------------------------------

Codec = tuple[Callable[[Any], Any], Callable[[Any, str], Any]]  # (to JSON, from JSON with a name for errors)

DECIMAL: Codec = (_encode_decimal, _decode_decimal)
DATETIME: Codec = (_encode_datetime, _decode_datetime)
DATE: Codec = (_encode_date, _decode_date)
TEXT: Codec = (_identity, _decode_plain(str))
INTEGER: Codec = (_identity, _decode_plain(int))

FIELDS: dict[str, Codec] = {
    "equity": DECIMAL,
    "peak_equity": DECIMAL,
    "day": DATE,
    "day_start_equity": DECIMAL,
    "week": TEXT,
    "week_start_equity": DECIMAL,
    "month": TEXT,
    "month_start_equity": DECIMAL,
    "updated_at": DATETIME,
    "holds": _tuple_of(_encode_hold, _decode_hold),
    "acknowledged": _tuple_of(_identity, _decode_plain(str)),
    "alerts_sent": _tuple_of(_identity, _decode_plain(str)),
    "unrealized": DECIMAL,
    "realized_day": DECIMAL,
    "realized_week": DECIMAL,
    "realized_month": DECIMAL,
    "loss_streak": INTEGER,
    "streak_base": INTEGER,
    "recent_results": _tuple_of(_identity, _decode_plain(bool)),
    "order_times": _tuple_of(_encode_datetime, _decode_datetime),
    "rejections_in_row": INTEGER,
}


# ---- the state ---------------------------------------------------------------------------------


def encode_policy_state(state: PolicyState) -> str:
    """The state as a JSON object (keys sorted), with a version for future readers."""
    data: dict[str, Any] = {"version": VERSION}
    for field in dataclasses.fields(PolicyState):
        if field.name not in FIELDS:
            raise TypeError(f"PolicyState.{field.name} has no JSON codec: add it to persistence/policy_codec.py")
        data[field.name] = FIELDS[field.name][0](getattr(state, field.name))
    return json.dumps(data, sort_keys=True)


def decode_policy_state(text: str) -> PolicyState:
    """The state encode_policy_state wrote. Raises PolicyDataError on anything else."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise PolicyDataError(f"the policy state is not JSON: {error}") from error
    _expect(data, dict, "policy state")
    if data.get("version") != VERSION:
        raise PolicyDataError(f"policy state version {data.get('version')!r}: this code reads version {VERSION}")
    fields = {field.name: field for field in dataclasses.fields(PolicyState)}
    unknown = set(data) - set(fields) - {"version"}
    if unknown:
        raise PolicyDataError(f"policy state: unknown keys {sorted(unknown)}")
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name in data:
            values[name] = FIELDS[name][1](data[name], name)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise PolicyDataError(f"policy state: {name} is missing")
    return PolicyState(**values)
