"""Configuration errors as one line each: which file or variable, which section, what is wrong, what was given."""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import SettingsError


class ConfigurationError(ValueError):
    """The settings cannot be read: one line naming the file (or variable) and the section."""


# ROBSON_* variables that are not settings but are read elsewhere (keys, tooling, tests): not typos
OTHER_VARIABLES = frozenset(
    {
        "ROBSON_CONFIG",
        "ROBSON_DEBUG",
        "ROBSON_SHARED_DATA",
        "ROBSON_BINANCE_API_KEY",
        "ROBSON_BINANCE_API_SECRET",
        "ROBSON_ALPACA_API_KEY",
        "ROBSON_ALPACA_API_SECRET",
    }
)
OTHER_PREFIXES = ("ROBSON_TEST_",)  # the test suite's own (ROBSON_TEST_POSTGRES_URL)


class section:
    """Prefix a validator's ValueError with the TOML section it is about, so the one-line error names it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        if isinstance(error, ValueError) and not isinstance(error, ValidationError):
            raise ValueError(f"[{self.name}] {error}") from None


def refuse_unknown_variables(fields: set[str]) -> None:
    """ROBSON_* variables that name no setting are refused like unknown keys in the file: a typo such as
    ROBSON_MAX_SLIPAGE_BPS would otherwise be ignored in silence."""
    known = {f"ROBSON_{name.upper()}" for name in fields}
    for variable in sorted(os.environ):
        name = variable.upper()
        if not name.startswith("ROBSON_") or name in OTHER_VARIABLES or name.startswith(OTHER_PREFIXES):
            continue
        if name.split("__", 1)[0] in known:
            continue  # nested keys (ROBSON_PAPER__TAKER_FEE) are checked by the model itself
        close = difflib.get_close_matches(name.split("__", 1)[0], sorted(known | OTHER_VARIABLES), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigurationError(f"configuration error in the environment: unknown setting {variable}{hint}")


def check_toml(path: Path) -> None:
    """The file named by ROBSON_CONFIG must exist, be a file and parse as TOML."""
    if not path.exists():
        raise ConfigurationError(f"configuration error: ROBSON_CONFIG={str(path)!r}: no such file")
    if not path.is_file():
        raise ConfigurationError(f"configuration error: ROBSON_CONFIG={str(path)!r} is not a file")
    try:
        tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"configuration error: cannot read {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"configuration error in {path}: not valid TOML: {error}") from None


def _source(top: str, path: Path | None) -> str:
    """Where a top-level setting came from: the environment when a ROBSON_ variable sets it, else the file."""
    name = f"ROBSON_{top.upper()}"
    for variable in os.environ:
        if variable.upper() == name or variable.upper().startswith(f"{name}__"):
            return f"the environment ({variable})"
    return str(path) if path is not None else "the settings"


def describe_validation_error(error: ValidationError, path: Path | None) -> str:
    """One line: the file or variable, the TOML section, the key, what is wrong and the value given."""
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"]]
    message = re.sub(r"^(Value|Assertion) error, ", "", first["msg"])
    where = ""
    if loc:
        where = f" [{'.'.join(loc[:-1])}]" if len(loc) > 1 else ""
        key = loc[-1]
        given = f" (got {first['input']!r})" if first["type"] != "extra_forbidden" else ""
        detail = f"{key}: {message}{given}"
        source = _source(loc[0], path)
    else:
        named = re.match(r"^\[([\w.-]+)\] (.*)$", message)
        if named:
            where, message = f" [{named.group(1)}]", named.group(2)
        detail = message
        source = _source(where.strip(" []").split(".")[0], path)
    return f"configuration error in {source}{where}: {detail}"


def describe_settings_error(error: SettingsError) -> str:
    """pydantic-settings could not parse a variable (ROBSON_RISK='{bad'): name it and show its value."""
    found = re.search(r'field "(\w+)"', str(error))
    if found:
        field = found.group(1)
        for variable, value in os.environ.items():
            if variable.upper() == f"ROBSON_{field.upper()}":
                return f"configuration error in the environment: {variable}={value!r} is not valid JSON"
    return f"configuration error: {error}"
