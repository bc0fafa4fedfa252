"""Turn every failure into one line and an exit code: 2 bad input, 3 refused by a rule, 1 anything else
(4: done in part and needs your attention, e.g. the kill switch halted but is not yet flat)."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, Protocol, TypeVar, runtime_checkable

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from typer.core import TyperGroup

from robson.config import config_path
from robson.config_errors import ConfigurationError, describe_settings_error, describe_validation_error
from robson.credentials import MissingKeys
from robson.domain.errors import DomainError, IllegalTransition, InvalidValue
from robson.ports import ExchangeError, LedgerUnavailable, Rejected
from robson.services.errors import Refused, SizingRefused

BAD_INPUT = 2
REFUSED = 3
NOT_FLAT = 4  # the kill switch: halted (on record), not yet flat; robson run goes on flattening

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int) -> typer.Exit:
    print(f"error: {message}", file=sys.stderr)
    return typer.Exit(code)


def _quiet_stdout() -> None:
    """The reader of our output went away (`| head -1`): what is left to print goes nowhere, quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (a test's capture): nothing to redirect
        pass
    finally:
        os.close(devnull)


@runtime_checkable
class _ClickError(Protocol):
    """What Click's exceptions (vendored by Typer) carry: a message for the user and an exit code."""

    exit_code: int

    def format_message(self) -> str: ...


class OneLineErrors(TyperGroup):
    """Click's own usage errors (an unknown option, a missing one) as one line on stderr, exit 2, like ours."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,  # Typer's own: passed through as they came
    ) -> Any:
        passed = (args, prog_name, complete_var)
        if not standalone_mode:
            return super().main(*passed, standalone_mode=False, windows_expand_args=windows_expand_args, **extra)
        try:
            code = super().main(*passed, standalone_mode=False, windows_expand_args=windows_expand_args, **extra)
        except Exception as error:  # Click's exceptions (vendored by Typer): known by what they carry
            if type(error).__name__ == "Abort":
                print("error: aborted", file=sys.stderr)
                sys.exit(1)
            if not (isinstance(error, _ClickError) and isinstance(error.exit_code, int)):
                raise
            if not error.format_message():  # `robson` alone: Click printed the help already
                sys.exit(error.exit_code)
            ctx = getattr(error, "ctx", None)
            where = f" (see {ctx.command_path} --help)" if ctx is not None else ""
            print(f"error: {error.format_message()}{where}", file=sys.stderr)
            sys.exit(error.exit_code)
        sys.exit(code if isinstance(code, int) else 0)


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command so that users never see a stack trace (set ROBSON_DEBUG=1 to see one)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except BrokenPipeError:
            _quiet_stdout()
            raise typer.Exit(0) from None
        except ConfigurationError as error:
            raise fail(str(error), BAD_INPUT) from None
        except SettingsError as error:
            raise fail(describe_settings_error(error), BAD_INPUT) from None
        except LedgerUnavailable as error:
            raise fail(str(error), 1) from None
        except (InvalidValue, IllegalTransition) as error:
            raise fail(str(error), BAD_INPUT) from None
        except (Refused, SizingRefused, Rejected) as error:
            raise fail(f"refused: {error}", REFUSED) from None
        except ValidationError as error:
            raise fail(describe_validation_error(error, config_path()), BAD_INPUT) from None
        except MissingKeys as error:
            raise fail(str(error), BAD_INPUT) from None
        except (DomainError, ExchangeError) as error:
            raise fail(str(error), 1) from None
        except Exception as error:
            if os.environ.get("ROBSON_DEBUG"):
                raise
            raise fail(f"unexpected {type(error).__name__}: {error}", 1) from None

    return wrapper
