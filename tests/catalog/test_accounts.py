"""Users, tokens and sessions (catalog.accounts), against every backend."""

from __future__ import annotations

import logging

import pytest

from catalog.accounts import Accounts, check_password, hash_password, seed_demo
from catalog.errors import AlreadyExists, NotFound, PermissionDenied, ValidationFailed
from catalog.permissions import Principal
from catalog.store.base import CatalogStore, WriteContext

PASSWORD = "mật-khẩu-đủ-dài-123"


@pytest.fixture
def accounts(store: CatalogStore, factory) -> Accounts:
    entity, _ = factory
    store.create_entity(entity("organization:skhcn"), WriteContext(actor="t"))
    return Accounts(store)


def test_password_hash_round_trip() -> None:
    h = hash_password(PASSWORD)
    assert h.startswith("$argon2id$") and PASSWORD not in h and h != hash_password(PASSWORD)  # salted
    assert check_password(PASSWORD, h) and not check_password(PASSWORD + "x", h)
    assert not check_password(PASSWORD, "garbage") and not check_password(PASSWORD, "scrypt$1$2$3$x$y")


def test_users_tokens_and_what_the_log_keeps(accounts: Accounts, store: CatalogStore, caplog) -> None:
    lan = accounts.add_user("lan", "editor", "organization:skhcn", "Nguyễn Thị Lan", password=PASSWORD)
    assert lan.principal() == Principal("lan", "editor", "organization:skhcn")
    issued = accounts.create_token("lan", "ci")
    assert issued.secret.startswith(f"ioc_{issued.id}_")
    assert accounts.authenticate_token(issued.secret) == lan.principal()
    assert accounts.authenticate_password("lan", PASSWORD) == lan.principal()
    with caplog.at_level(logging.WARNING, logger="ioc_catalog.auth"):
        assert accounts.authenticate_password("lan", "wrong password") is None
        assert accounts.authenticate_token(issued.secret[:-1] + ("A" if issued.secret[-1] != "A" else "B")) is None
        assert accounts.authenticate_token("not a token") is None
    assert len(caplog.records) == 3
    assert all(PASSWORD not in r.getMessage() and issued.secret[20:] not in r.getMessage() for r in caplog.records)
    # no secret, hash or password anywhere in the change log; the user's creation is in it
    log_text = str([(c.ref, c.after) for c in store.changelog()])
    assert "record:user/lan" in log_text
    assert issued.secret not in log_text and "argon2" not in log_text and "hash" not in log_text
    assert [t["id"] for t in accounts.list_tokens("lan")] == [issued.id]
    assert "hash" not in accounts.list_tokens()[0]
    accounts.revoke_token(issued.id)
    assert accounts.authenticate_token(issued.secret) is None


def test_disabled_users_and_sessions(accounts: Accounts) -> None:
    accounts.add_user("an", "architect", password=PASSWORD)
    token = accounts.create_token("an").secret
    cookie, who = accounts.create_session("an", PASSWORD)
    assert accounts.session_principal(cookie) == who == Principal("an", "architect")
    assert accounts.create_session("an", "wrong password") is None
    accounts.set_disabled("an")
    assert accounts.session_principal(cookie) is None and accounts.authenticate_token(token) is None
    assert accounts.authenticate_password("an", PASSWORD) is None
    accounts.set_disabled("an", False)
    assert accounts.session_principal(cookie) == who
    accounts.end_session(cookie)
    assert accounts.session_principal(cookie) is None


def test_bad_input_and_permissions(accounts: Accounts, store: CatalogStore) -> None:
    with pytest.raises(ValidationFailed) as exc:
        accounts.add_user("Bad Name", "boss", password="short")
    assert {e.location for e in exc.value.errors} == {"name", "role", "password"}
    with pytest.raises(ValidationFailed, match="org"):
        accounts.add_user("ed", "editor")
    with pytest.raises(ValidationFailed) as exc:
        accounts.add_user("ed", "editor", "organization:nowhere")
    assert [e.location for e in exc.value.errors] == ["org"]
    accounts.add_user("ed", "viewer")
    with pytest.raises(AlreadyExists):
        accounts.add_user("ed", "viewer")
    with pytest.raises(NotFound):
        accounts.create_token("nobody")
    viewer = Accounts(store, Principal("ed", "viewer"))
    with pytest.raises(PermissionDenied):
        viewer.add_user("x1", "admin")
    with pytest.raises(PermissionDenied):
        viewer.create_token("someone-else")
    own = viewer.create_token("ed")  # anyone may make tokens for themselves
    assert accounts.authenticate_token(own.secret) == Principal("ed", "viewer")
    assert [u.name for u in accounts.list_users()] == ["ed"]


def test_seed_demo_gives_one_working_user_per_role(store: CatalogStore, factory) -> None:
    entity, _ = factory
    for org in ("organization:hcm-skhcn", "organization:hcm-stc"):
        store.create_entity(entity(org), WriteContext(actor="t"))
    seeded = seed_demo(store)
    assert {u.role for u, _, _ in seeded} == {"admin", "architect", "editor", "auditor", "viewer"}
    accounts = Accounts(store)
    for user, password, token in seeded:
        assert accounts.authenticate_password(user.name, password) == user.principal()
        assert accounts.authenticate_token(token.secret) == user.principal()
