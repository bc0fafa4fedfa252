"""Turn every failure into one line and an exit code: 2 bad input, 3 refused by a rule, 1 anything else
(4: done in part and needs your attention, e.g. the kill switch halted but is not yet flat)."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from pydantic import ValidationError

from robson.credentials import MissingKeys
from robson.domain.errors import DomainError, IllegalTransition, InvalidValue
from robson.ports import ExchangeError, Rejected
from robson.services.errors import Refused, SizingRefused

BAD_INPUT = 2
REFUSED = 3
NOT_FLAT = 4  # the kill switch: halted (on record), not yet flat; robson run goes on flattening

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int) -> typer.Exit:
    print(f"error: {message}", file=sys.stderr)
    return typer.Exit(code)


def _config_message(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"configuration error at {where}: {first['msg']}"


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command so that users never see a stack trace (set ROBSON_DEBUG=1 to see one)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except (InvalidValue, IllegalTransition) as error:
            raise fail(str(error), BAD_INPUT) from None
        except (Refused, SizingRefused, Rejected) as error:
            raise fail(f"refused: {error}", REFUSED) from None
        except ValidationError as error:
            raise fail(_config_message(error), BAD_INPUT) from None
        except MissingKeys as error:
            raise fail(str(error), BAD_INPUT) from None
        except (DomainError, ExchangeError) as error:
            raise fail(str(error), 1) from None
        except Exception as error:
            if os.environ.get("ROBSON_DEBUG"):
                raise
            raise fail(f"unexpected {type(error).__name__}: {error}", 1) from None

    return wrapper
