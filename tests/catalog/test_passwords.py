"""Password hashes (catalog.accounts): Argon2id with argon2-cffi's current parameters, the earlier scrypt hashes still
accepted and upgraded at the next sign-in, and the same work for names that have no user or no password."""

from __future__ import annotations

import logging

import pytest
from argon2 import PasswordHasher, extract_parameters

from catalog.accounts import CREDENTIAL, Accounts, check_password, hash_password, verify_password
from catalog.permissions import Principal
from catalog.store.base import CatalogStore

PASSWORD = "mật-khẩu-đủ-dài-123"
# written by catalog.accounts.hash_password before this change (scrypt N=2^14, r=8, p=1), for this password:
OLD_PASSWORD = "mật-khẩu-cũ-scrypt-2024"
OLD_SCRYPT = "scrypt$16384$8$1$0vDl1qrK4hcLY0GAxQp9Qw==$WJfqq6YP3iv2M7cdbFuhyVux6vGCG69OwFbNX9c9H9k="


@pytest.fixture
def verify_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every hash that argon2's PasswordHasher.verify is asked to check, in order."""
    calls: list[str] = []
    real = PasswordHasher.verify

    def spy(self: PasswordHasher, hash: str, password: bytes | str) -> bool:
        calls.append(hash)
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    return calls


def _stored(store: CatalogStore, name: str) -> str:
    return store.get_record(CREDENTIAL, name).data["password"]  # type: ignore[union-attr]


def test_new_hashes_are_argon2id_with_the_library_defaults() -> None:
    h = hash_password(PASSWORD)
    defaults = PasswordHasher()
    params = extract_parameters(h)
    assert h.startswith("$argon2id$v=19$") and PASSWORD not in h and h != hash_password(PASSWORD)
    assert (params.time_cost, params.memory_cost, params.parallelism) == (
        defaults.time_cost,
        defaults.memory_cost,
        defaults.parallelism,
    )
    assert verify_password(PASSWORD, h) == (True, False)
    assert verify_password(PASSWORD + "x", h) == (False, False)


def test_earlier_scrypt_hashes_still_verify_and_ask_for_an_upgrade() -> None:
    assert verify_password(OLD_PASSWORD, OLD_SCRYPT) == (True, True)
    assert verify_password(OLD_PASSWORD + "x", OLD_SCRYPT) == (False, False)
    assert check_password(OLD_PASSWORD, OLD_SCRYPT)


@pytest.mark.parametrize(
    "stored",
    [
        "garbage",
        "scrypt$1$2$3$x$y",
        "$argon2id$v=19$m=65536,t=3,p=4$bad",
        "scrypt$1048576$8$1$0vDl1qrK4hcLY0GAxQp9Qw==$WJfqq6YP3iv2M7cdbFuhyVux6vGCG69OwFbNX9c9H9k=",  # N above the bound
        "scrypt$16384$8$1$0vDl1qrK4hcLY0GAxQp9Qw==$!!!",
    ],
)
def test_malformed_or_oversized_stored_hashes_never_match(stored: str) -> None:
    assert verify_password(OLD_PASSWORD, stored) == (False, False)


def test_any_text_is_a_password_even_a_lone_surrogate() -> None:
    odd = "\ud800 pass \x00 word \u202e"
    h = hash_password(odd)
    assert verify_password(odd, h) == (True, False) and not check_password("pass word", h)


def test_a_scrypt_hash_is_upgraded_to_argon2_at_the_next_sign_in(store: CatalogStore, caplog) -> None:
    accounts = Accounts(store)
    accounts.add_user("lan", "architect")
    store.put_record(CREDENTIAL, "lan", {"password": OLD_SCRYPT}, accounts.ctx, log=False)
    revision = store.revision()
    with caplog.at_level(logging.WARNING, logger="ioc_catalog.auth"):
        assert accounts.authenticate_password("lan", "not the password") is None
    assert _stored(store, "lan") == OLD_SCRYPT  # a failed sign-in rewrites nothing
    assert accounts.authenticate_password("lan", OLD_PASSWORD) == Principal("lan", "architect")
    upgraded = _stored(store, "lan")
    assert upgraded.startswith("$argon2id$") and not PasswordHasher().check_needs_rehash(upgraded)
    assert accounts.authenticate_password("lan", OLD_PASSWORD) == Principal("lan", "architect")
    assert _stored(store, "lan") == upgraded  # current already: not rewritten again
    assert store.revision() == revision  # credentials stay out of the change log
    assert all(OLD_PASSWORD not in r.getMessage() for r in caplog.records)


def test_an_argon2_hash_of_older_parameters_is_rehashed_at_sign_in(store: CatalogStore) -> None:
    accounts = Accounts(store)
    accounts.add_user("an", "viewer")
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    store.put_record(CREDENTIAL, "an", {"password": weak}, accounts.ctx, log=False)
    assert verify_password(PASSWORD, weak) == (True, True)
    assert accounts.authenticate_password("an", PASSWORD) == Principal("an", "viewer")
    assert extract_parameters(_stored(store, "an")) == extract_parameters(hash_password("x"))


def test_a_password_set_meanwhile_wins_over_the_upgrade(store: CatalogStore) -> None:
    accounts = Accounts(store)
    accounts.add_user("binh", "viewer")
    store.put_record(CREDENTIAL, "binh", {"password": OLD_SCRYPT}, accounts.ctx, log=False)
    read_before = store.get_record(CREDENTIAL, "binh")
    accounts.set_password("binh", PASSWORD)  # lands between the sign-in's read and its upgrade
    accounts._rehash("binh", OLD_PASSWORD, read_before)  # type: ignore[arg-type]
    assert check_password(PASSWORD, _stored(store, "binh")) and not check_password(OLD_PASSWORD, _stored(store, "binh"))


def test_names_without_a_user_or_a_password_cost_a_real_verification(
    store: CatalogStore, verify_calls: list[str]
) -> None:
    accounts = Accounts(store)
    accounts.add_user("lan", "architect", password=PASSWORD)
    accounts.add_user("tokens-only", "viewer")  # no password: signs in with API tokens only
    accounts.add_user("off", "viewer", password=PASSWORD)
    accounts.set_disabled("off")
    current = extract_parameters(hash_password("x"))
    for name in ("nobody", "tokens-only", "Not A Valid Name!", ""):
        verify_calls.clear()
        assert accounts.authenticate_password(name, PASSWORD) is None
        assert len(verify_calls) == 1, name
        assert extract_parameters(verify_calls[0]) == current  # a dummy hash of the current parameters
        assert verify_calls[0] != _stored(store, "lan")
    verify_calls.clear()
    assert accounts.authenticate_password("off", PASSWORD) is None  # disabled: checked all the same, then refused
    assert verify_calls == [_stored(store, "off")]
    verify_calls.clear()
    assert accounts.authenticate_password("lan", "wrong password") is None
    assert verify_calls == [_stored(store, "lan")]


def test_every_refusal_is_logged_with_its_reason_and_never_the_password(store: CatalogStore, caplog) -> None:
    accounts = Accounts(store, client="203.0.113.7")
    accounts.add_user("lan", "architect", password=PASSWORD)
    accounts.add_user("tokens-only", "viewer")
    with caplog.at_level(logging.WARNING, logger="ioc_catalog.auth"):
        for name, password in (
            ("nobody", PASSWORD),
            ("lan", "wrong password"),
            ("tokens-only", PASSWORD),
            ("evil\nname\x1b[31m", PASSWORD),
        ):
            assert accounts.authenticate_password(name, password) is None
    got = [(r.auth_event, r.auth_door, r.auth_user, r.auth_client, r.auth_reason) for r in caplog.records]
    assert got == [
        ("failed", "password", "nobody", "203.0.113.7", "unknown-user"),
        ("failed", "password", "lan", "203.0.113.7", "wrong-password"),
        ("failed", "password", "tokens-only", "203.0.113.7", "no-password"),
        ("failed", "password", "evil\nname\x1b[31m", "203.0.113.7", "unknown-user"),
    ]
    lines = [r.getMessage() for r in caplog.records]
    assert lines[1] == "sign-in failed: door=password user='lan' client=203.0.113.7 reason=wrong-password"
    assert "\n" not in lines[3] and "\x1b" not in lines[3]  # a name cannot forge log lines
    assert not any(PASSWORD in line or "wrong password" in line for line in lines)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ioc_catalog.auth"):  # an address a proxy passed on, forged
        assert Accounts(store, client="10.0.0.1\nsign-in ok").authenticate_password("lan", "wrong password") is None
    assert (
        caplog.records[0].getMessage()
        == "sign-in failed: door=password user='lan' client='10.0.0.1\\nsign-in ok' reason=wrong-password"
    )
