"""API keys for the live venues: from the environment, else from the OS keyring. Never from the ledger or the TOML
file, never printed: they travel as SecretStr until the adapter's constructor takes them.

    ROBSON_BINANCE_API_KEY / ROBSON_BINANCE_API_SECRET   or keyring service "robson", "binance-api-key" / "-secret"
    ROBSON_ALPACA_API_KEY  / ROBSON_ALPACA_API_SECRET    or keyring service "robson", "alpaca-api-key" / "-secret"

A pair is taken whole from one place (the environment first), so a key is never signed with another account's
secret. The keyring is asked only when the `keyring` package imports and one of its backends answers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import SecretStr

SERVICE = "robson"  # the keyring's service name

log = logging.getLogger(__name__)

Lookup = Callable[[str, str], str | None]  # (service, username) -> password, as keyring.get_password


class MissingKeys(Exception):
    """A live venue was chosen and its keys are in neither the environment nor the keyring."""


@dataclass(frozen=True, slots=True)
class VenueKeys:
    api_key: SecretStr
    secret: SecretStr
    source: str  # "environment" or "keyring": says where, never what

    def __repr__(self) -> str:
        return f"VenueKeys(api_key=**********, secret=**********, source={self.source!r})"


def environment_names(venue: str) -> tuple[str, str]:
    prefix = f"ROBSON_{venue.upper()}_API_"
    return f"{prefix}KEY", f"{prefix}SECRET"


def keyring_names(venue: str) -> tuple[str, str]:
    return f"{venue.lower()}-api-key", f"{venue.lower()}-api-secret"


def venue_keys(venue: str, environ: Mapping[str, str] | None = None) -> VenueKeys:
    """The venue's key and secret: both from the environment, else both from the keyring, else MissingKeys."""
    names, usernames = environment_names(venue), keyring_names(venue)
    env = os.environ if environ is None else environ
    pair = _pair(env.get(names[0]), env.get(names[1]))
    if pair is not None:
        return VenueKeys(*pair, source="environment")
    lookup = _system_keyring()
    if lookup is not None:
        try:
            pair = _pair(lookup(SERVICE, usernames[0]), lookup(SERVICE, usernames[1]))
        except Exception as error:  # a locked vault, no D-Bus, no backend at all: the keyring is simply not there
            log.debug("keyring unavailable (%s); no %s keys from it", type(error).__name__, venue)
            pair = None
        if pair is not None:
            return VenueKeys(*pair, source="keyring")
    raise MissingKeys(
        f"{venue} needs {names[0]} and {names[1]} (or the keyring entries {usernames[0]} and {usernames[1]} "
        f"of service {SERVICE!r})"
    )


def _pair(key: str | None, secret: str | None) -> tuple[SecretStr, SecretStr] | None:
    key, secret = (key or "").strip(), (secret or "").strip()
    return (SecretStr(key), SecretStr(secret)) if key and secret else None


def _system_keyring() -> Lookup | None:
    """keyring.get_password when the package is installed (its import also picks the backend)."""
    try:
        import keyring
    except ImportError:
        return None
    return keyring.get_password
