"""Typed settings, validated at start: environment (ROBSON_*) over the TOML file over the defaults.

The TOML file is ROBSON_CONFIG, or robson.toml in the data directory when it exists. Unknown keys are refused.
"""

from __future__ import annotations

import os
import typing
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, create_model, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from robson.config_errors import check_toml, refuse_unknown_variables, section
from robson.domain.instrument import Instrument, split_symbol
from robson.domain.protection import ProtectionMode
from robson.exits.policy import (
    HALF_AT_2R_REST_TRAILING,
    THIRDS,
    ExitPolicy,
    ScaleOutStep,
    Trailing,
)
from robson.risk.limits import RiskLimits, preset


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# One strategy's departures from the defaults: every RiskLimits field, optional (anything left out inherits
# from [risk.default]). Derived from RiskLimits so that a new limit needs declaring in one place only; its fields
# exist only at run time, so mypy knows it by its base (its values reach RiskLimits through RiskLimits.replace,
# which checks every one).
if TYPE_CHECKING:
    RiskOverrides = _Strict
else:
    RiskOverrides = create_model(
        "RiskOverrides",
        __base__=_Strict,
        preset=(str | None, None),
        **{name: (kind | None, None) for name, kind in typing.get_type_hints(RiskLimits).items()},
    )


class InstrumentSettings(_Strict):
    symbol: str
    tick_size: Decimal
    step_size: Decimal
    min_quantity: Decimal = Decimal("0")
    min_notional: Decimal = Decimal("0")
    min_price: Decimal | None = None  # the price filter's bounds; default: one tick to Binance's 1,000,000
    max_price: Decimal = Decimal("1000000")  # zero: no upper bound

    def build(self) -> Instrument:
        base, quote = split_symbol(self.symbol)
        lowest = self.tick_size if self.min_price is None else self.min_price
        return Instrument(
            f"{base}/{quote}",
            base,
            quote,
            self.tick_size,
            self.step_size,
            self.min_quantity,
            self.min_notional,
            lowest,
            self.max_price,
        )


# Binance spot filters (PRICE_FILTER tickSize, LOT_SIZE stepSize/minQty, NOTIONAL minNotional).
DEFAULT_INSTRUMENTS = (
    InstrumentSettings(
        symbol="BTC/USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.00001"),
        min_quantity=Decimal("0.00001"),
        min_notional=Decimal("5"),
    ),
    InstrumentSettings(
        symbol="ETH/USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.0001"),
        min_quantity=Decimal("0.0001"),
        min_notional=Decimal("5"),
    ),
    InstrumentSettings(
        symbol="SOL/USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.001"),
        min_quantity=Decimal("0.001"),
        min_notional=Decimal("5"),
    ),
)


class ScaleOutSettings(_Strict):
    at_r: Decimal
    fraction: Decimal


class ExitSettings(_Strict):
    """How a strategy's positions are protected and taken out. mode "exchange" rests the stop and target on the
    venue as an OCO; "internal" keeps the stop on the operation and the monitor exits at market when the price
    crosses it. The rules (trailing, scale-outs, break-even, time exit) are applied by the monitor."""

    mode: Literal["exchange", "internal"] = "exchange"
    preset: Literal["thirds", "half_at_2r_rest_trailing"] | None = None
    trailing_activate_r: Decimal | None = None
    trailing_activate_percent: Decimal | None = None
    trail_percent: Decimal | None = None
    trail_r: Decimal | None = None
    trail_atr: Decimal | None = None
    scale_out: tuple[ScaleOutSettings, ...] = ()
    break_even_after_first: bool = False
    time_exit_hours: Decimal | None = None
    time_exit_min_move_percent: Decimal = Decimal("0.5")

    def policy(self) -> ExitPolicy:
        base = {"thirds": THIRDS, "half_at_2r_rest_trailing": HALF_AT_2R_REST_TRAILING}.get(self.preset or "")
        activation = (self.trailing_activate_r, self.trailing_activate_percent)
        distance = (self.trail_percent, self.trail_r, self.trail_atr)
        trailing = base.trailing if base else None
        if any(v is not None for v in (*activation, *distance)):
            trailing = Trailing(*activation, *distance)
        steps = tuple(ScaleOutStep(s.at_r, s.fraction) for s in self.scale_out) or (base.scale_out if base else ())
        return ExitPolicy(
            mode=ProtectionMode(self.mode),
            trailing=trailing,
            scale_out=steps,
            break_even_after_first=self.break_even_after_first,
            time_exit_hours=self.time_exit_hours,
            time_exit_min_move_percent=self.time_exit_min_move_percent,
        )


class PaperSettings(_Strict):
    maker_fee: Decimal = Field(Decimal("0.001"), ge=0, lt=Decimal("0.1"))
    taker_fee: Decimal = Field(Decimal("0.001"), ge=0, lt=Decimal("0.1"))
    slippage_bps: Decimal = Field(Decimal("2"), ge=0, lt=Decimal("1000"))
    initial_balances: dict[str, Decimal] = Field(default_factory=lambda: {"USDT": Decimal("10000")})
    instruments: tuple[InstrumentSettings, ...] = ()  # added to the defaults (same symbol replaces)

    def all_instruments(self) -> dict[str, Instrument]:
        built = {i.symbol: i.build() for i in DEFAULT_INSTRUMENTS}
        built.update({(item := i.build()).symbol: item for i in self.instruments})
        return built

    @field_validator("initial_balances")
    @classmethod
    def _balances_not_negative(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for asset, amount in value.items():
            if not amount.is_finite() or amount < 0:
                raise ValueError(f"balance of {asset} must be a non-negative number")
        return value


Venue = Literal["paper", "binance", "alpaca"]
VENUES: tuple[str, ...] = typing.get_args(Venue)
BINANCE_REST_URL = "https://api.binance.com"
BINANCE_STREAM_URL = "wss://stream.binance.com:9443/ws"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _url(value: str, secure: str, plain: str) -> str:
    """A URL of the secure scheme; the plain one only on this machine (a local test venue). Keys never travel
    in clear text over a network."""
    parts = urlsplit(value.strip())
    if parts.scheme not in (secure, plain) or not parts.hostname:
        raise ValueError(f"must be a URL of the form {secure}://host, got {value!r}")
    if parts.scheme == plain and parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError(f"must be {secure}:// (plain {plain}:// only to 127.0.0.1), got {value!r}")
    return value.strip().rstrip("/")


def _symbols(value: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not value:
        raise ValueError("is empty: list at least one symbol, or leave it out for the default")
    normal = []
    for symbol in value:
        base, quote = split_symbol(symbol)
        normal.append(f"{base}/{quote}")
    return tuple(dict.fromkeys(normal))


class BinanceSettings(_Strict):
    """Binance spot. The keys come from the environment or the keyring (robson.credentials), never from here."""

    base_url: str = BINANCE_REST_URL
    ws_url: str = BINANCE_STREAM_URL
    # the WebSocket API, where the account's order updates are followed; default: Binance's beside Binance's ws_url,
    # else the same host as ws_url (/ws-api/v3), so that a test venue's connections all go to it
    ws_api_url: str | None = None
    timeout_ms: int = Field(10000, ge=100, le=120_000)
    symbols: tuple[str, ...] | None = None  # what to load and watch; default: the configured instruments' symbols

    @field_validator("base_url")
    @classmethod
    def _rest_url(cls, value: str) -> str:
        return _url(value, "https", "http")

    @field_validator("ws_url")
    @classmethod
    def _stream_url(cls, value: str) -> str:
        return _url(value, "wss", "ws")

    @field_validator("ws_api_url")
    @classmethod
    def _web_socket_api_url(cls, value: str | None) -> str | None:
        return None if value is None else _url(value, "wss", "ws")

    @field_validator("symbols")
    @classmethod
    def _some_symbols(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return _symbols(value)


class AlpacaSettings(_Strict):
    """Alpaca (US equities), paper trading unless `paper = false`. Keys as for Binance."""

    paper: bool = True
    base_url: str | None = None  # default: alpaca-py's (paper-api or api.alpaca.markets)
    data_url: str | None = None  # default: alpaca-py's market data URL (or base_url when that is set)
    symbols: tuple[str, ...] | None = None  # default: the adapter's (AAPL/USD, MSFT/USD, SPY/USD, QQQ/USD)
    timeout_seconds: Decimal = Field(Decimal("10"), gt=0, le=Decimal("120"))
    poll_seconds: Decimal = Field(Decimal("2"), ge=Decimal("0.2"), le=Decimal("60"))  # last prices, per symbol

    @field_validator("base_url", "data_url")
    @classmethod
    def _rest_url(cls, value: str | None) -> str | None:
        return None if value is None else _url(value, "https", "http")

    @field_validator("symbols")
    @classmethod
    def _some_symbols(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return _symbols(value)


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("robson", appauthor=False))


def config_path() -> Path | None:
    explicit = os.environ.get("ROBSON_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    data_dir = Path(os.environ.get("ROBSON_DATA_DIR") or default_data_dir())
    candidate = data_dir / "robson.toml"
    return candidate if candidate.exists() else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROBSON_", extra="forbid", frozen=True, env_nested_delimiter="__")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    exchange: Venue = "paper"  # where orders go; the keys of a live venue: see robson.credentials
    quote: str = "USDT"  # the account currency (USD by default on alpaca)
    slippage_allowance_bps: Decimal | None = Field(None, ge=0, lt=Decimal("1000"))
    max_entry_deviation_percent: Decimal = Field(Decimal("1"), gt=0, le=Decimal("50"))
    paper: PaperSettings = PaperSettings()
    binance: BinanceSettings = BinanceSettings()
    alpaca: AlpacaSettings = AlpacaSettings()
    risk: dict[str, RiskOverrides] = Field(default_factory=dict)
    groups: dict[str, str] = Field(default_factory=dict)  # symbol -> sector or category, for the group limit
    exits: dict[str, ExitSettings] = Field(default_factory=dict)  # per strategy; "default" for the rest
    monitor_poll_seconds: Decimal = Field(Decimal("0.2"), gt=0, le=Decimal("60"))
    monitor_stale_seconds: Decimal = Field(Decimal("30"), gt=0)  # no tick for this long: alert, then poll the venue
    # robson run marks to market (the drawdown tiers) after any fill or exit, else at most this often: each mark
    # asks the venue for the account, which its request weights make costly on every pass
    monitor_mark_seconds: Decimal = Field(Decimal("5"), gt=0, le=Decimal("300"))
    # a price further than this from the last accepted one (within the window) is held as suspect until the next
    # tick or a REST quote confirms it
    monitor_price_band_percent: Decimal = Field(Decimal("10"), gt=0, le=Decimal("100"))
    monitor_price_band_seconds: Decimal = Field(Decimal("60"), gt=0, le=Decimal("86400"))
    close_fallback_seconds: Decimal = Field(Decimal("2"), ge=0, le=Decimal("300"))  # a close's limit, then market
    retry_attempts: int = Field(4, ge=1, le=20)  # sends of one order in all, after unknown outcomes
    retry_first_wait_seconds: Decimal = Field(Decimal("0.2"), gt=0, le=Decimal("60"))
    retry_max_wait_seconds: Decimal = Field(Decimal("5"), gt=0, le=Decimal("600"))
    # entries, targets and time exits: the most their expected fill may be from the price they were sized at, and
    # what happens beyond it (a limit capped at that tolerance, or nothing sent); stops always go at market
    max_slippage_bps: Decimal = Field(Decimal("50"), gt=0, le=Decimal("1000"))
    on_excess_slippage: Literal["limit", "refuse"] = "limit"
    wide_spread_bps: Decimal = Field(Decimal("20"), gt=0, le=Decimal("1000"))  # above it: a limit at the touch
    fill_timeout_seconds: Decimal = Field(Decimal("5"), ge=0, le=Decimal("600"))  # a partial entry, then cancel
    crash_after_exit_sent: bool = False  # the crash-recovery drill only: SIGKILL right after an exit is accepted

    _strategies: dict[str, RiskLimits] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _venue_quote(cls, data: object) -> object:
        """Alpaca accounts are in USD: the quote follows unless it was set."""
        if isinstance(data, dict) and data.get("exchange") == "alpaca" and "quote" not in data:
            return {**data, "quote": "USD"}
        return data

    @model_validator(mode="after")
    def _check_exits(self) -> Settings:
        for name, settings in self.exits.items():
            with section(f"exits.{name}"):
                settings.policy()  # refuse a malformed exit policy at start, with its reason
        return self

    @model_validator(mode="after")
    def _build_strategies(self) -> Settings:
        base = RiskLimits()
        with section("risk.default"):
            defaults = _layer(self.risk.get("default", RiskOverrides()))
            built = {"default": base.replace(**defaults)}
        for name, overrides in self.risk.items():
            with section(f"risk.{name}"):
                built[name] = base.replace(**{**defaults, **_layer(overrides)})
        self._strategies = built
        return self

    @property
    def exit_policies(self) -> dict[str, ExitPolicy]:
        default = self.exits.get("default", ExitSettings())
        return {name: self.exits.get(name, default).policy() for name in {*self._strategies, *self.exits}}

    @property
    def strategies(self) -> dict[str, RiskLimits]:
        return dict(self._strategies)

    @property
    def binance_symbols(self) -> tuple[str, ...]:
        """What the Binance venue loads and watches: [binance] symbols, else the configured instruments'."""
        return self.binance.symbols or tuple(self.paper.all_instruments())

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'robson.db'}"

    @property
    def slippage_rate(self) -> Decimal:
        bps = self.slippage_allowance_bps if self.slippage_allowance_bps is not None else self.paper.slippage_bps
        return bps / Decimal(10000)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        refuse_unknown_variables(set(settings_cls.model_fields))
        path = config_path()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            check_toml(path)
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def _layer(overrides: BaseModel) -> dict[str, object]:
    """A strategy's settings: its preset (if it names one), then its own values over it."""
    values = overrides.model_dump(exclude_none=True)
    name = values.pop("preset", None)
    return {**(preset(name) if name else {}), **values}
