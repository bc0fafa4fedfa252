"""Venue keys: the environment wins, the OS keyring (here a fake backend set with keyring.set_keyring) is asked when
the environment has no pair, and nothing anywhere prints them."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import keyring.backend
import pytest
from keyring.errors import KeyringLocked

from robson.config import Settings
from robson.credentials import SERVICE, MissingKeys, venue_keys


class FakeKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self, failure: Exception | None = None) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}
        self.failure = failure
        self.asked: list[tuple[str, str]] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.asked.append((service, username))
        if self.failure is not None:
            raise self.failure
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@pytest.fixture
def vault() -> Iterator[FakeKeyring]:
    previous = keyring.get_keyring()
    fake = FakeKeyring()
    keyring.set_keyring(fake)
    try:
        yield fake
    finally:
        keyring.set_keyring(previous)


ENV = {"ROBSON_BINANCE_API_KEY": "env-key-1234", "ROBSON_BINANCE_API_SECRET": "env-secret-5678"}


def test_the_environment_wins_over_the_keyring(vault: FakeKeyring) -> None:
    vault.set_password(SERVICE, "binance-api-key", "vault-key")
    vault.set_password(SERVICE, "binance-api-secret", "vault-secret")
    keys = venue_keys("binance", ENV)
    assert (keys.api_key.get_secret_value(), keys.secret.get_secret_value()) == ("env-key-1234", "env-secret-5678")
    assert keys.source == "environment" and vault.asked == []  # the keyring is not even asked


def test_the_keyring_is_used_when_the_environment_has_no_pair(vault: FakeKeyring) -> None:
    vault.set_password(SERVICE, "alpaca-api-key", "vault-key")
    vault.set_password(SERVICE, "alpaca-api-secret", "vault-secret")
    keys = venue_keys("alpaca", {"ROBSON_ALPACA_API_KEY": "half-a-pair"})  # a pair comes whole from one place
    assert (keys.api_key.get_secret_value(), keys.secret.get_secret_value()) == ("vault-key", "vault-secret")
    assert keys.source == "keyring"
    assert vault.asked == [(SERVICE, "alpaca-api-key"), (SERVICE, "alpaca-api-secret")]


@pytest.mark.parametrize(
    "env",
    [{}, {"ROBSON_BINANCE_API_KEY": "only-the-key"}, {"ROBSON_BINANCE_API_KEY": " ", "ROBSON_BINANCE_API_SECRET": ""}],
)
def test_missing_keys_name_where_to_put_them(vault: FakeKeyring, env: dict[str, str]) -> None:
    vault.set_password(SERVICE, "binance-api-key", "vault-key")  # the keyring has only half a pair too
    with pytest.raises(MissingKeys) as raised:
        venue_keys("binance", env)
    message = str(raised.value)
    assert message.startswith("binance needs ROBSON_BINANCE_API_KEY and ROBSON_BINANCE_API_SECRET (or the keyring")
    assert "binance-api-key" in message and "\n" not in message
    assert "only-the-key" not in message and "vault-key" not in message


def test_a_keyring_that_fails_counts_as_no_keyring(vault: FakeKeyring) -> None:
    vault.failure = KeyringLocked("the vault is locked")
    with pytest.raises(MissingKeys):
        venue_keys("binance", {})
    vault.failure = RuntimeError("no D-Bus session")
    with pytest.raises(MissingKeys):
        venue_keys("binance", {})


def test_keys_never_show_in_a_repr_or_a_string(vault: FakeKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = venue_keys("binance", ENV)
    for text in (repr(keys), str(keys), str(keys.api_key), repr(keys.secret)):
        assert "env-key-1234" not in text and "env-secret-5678" not in text
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    settings = Settings(exchange="binance")
    assert "env-key-1234" not in repr(settings) and "env-secret-5678" not in repr(settings)
