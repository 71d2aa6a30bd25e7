"""Webhooks against a real HTTP receiver on 127.0.0.1 (catalog.webhooks, catalog.outbox): down for the first
deliveries, then up; every event arrives exactly once, in order, signed; the delivery log shows every attempt.

The dispatcher is driven by its run-once function with a controllable clock: the backoff it waits is the one the
policy says, and the test moves the clock past it instead of sleeping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from http_receiver import Receiver, free_port

from catalog.errors import PermissionDenied, ValidationFailed
from catalog.outbox import PAYLOAD_SCHEMA, SCHEMA, claim
from catalog.permissions import Principal
from catalog.services import CatalogService
from catalog.store import open_store
from catalog.webhooks import Dispatcher, Policy, Webhooks, cursor_name, verify


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(f"sqlite:///{tmp_path / 'c.db'}", create=True)
    svc = CatalogService(s)
    svc.register(
        {
            "kind": "organization",
            "code": "hcm-skhcn",
            "name": {"vi": "Sở Khoa học và Công nghệ"},
            "attributes": {"org_type": "department"},
        }
    )
    svc.register(
        {
            "kind": "platform",
            "code": "hcm-ioc",
            "name": {"vi": "IOC TP.HCM"},
            "attributes": {"lifecycle": "production", "platform_type": "operations_centre"},
        }
    )
    yield s
    s.close()


def changes(store) -> list[int]:
    """Three changes after the subscription: create, update, link; returns their change-log seqs."""
    svc = CatalogService(store, Principal("architect", "architect"))
    e = svc.register(
        {
            "kind": "system",
            "code": "hcm-hook",
            "name": {"vi": "Hệ thống thử"},
            "owner": "organization:hcm-skhcn",
            "attributes": {"lifecycle": "production"},
        }
    )
    svc.patch(e.ref, {"attributes": {"vendor": "VNPT"}}, e.version)
    svc.link({"type": "feeds", "source": e.ref, "target": "platform:hcm-ioc"})
    return [
        x.seq for x in store.changelog(after_seq=0) if x.ref in (e.ref, "rel:system:hcm-hook>feeds>platform:hcm-ioc")
    ]


def test_receiver_down_then_up_every_event_once_in_order_signed(store) -> None:
    port = free_port()
    sub, secret = Webhooks(store).create(f"http://127.0.0.1:{port}/hook", events=["entity.*", "relationship.*"])
    seqs = changes(store)
    assert len(seqs) == 3
    clock = Clock()
    policy = Policy(attempts=5, base_delay=2.0, max_delay=60.0, timeout=2.0)
    dispatcher = Dispatcher(store, policy, clock=clock)

    # the receiver is down: one attempt, then the dispatcher waits its backoff (2 s, then 4 s) before the next
    assert dispatcher.run_once().failed == 1
    assert dispatcher.run_once().as_dict() == {"delivered": 0, "failed": 0, "given_up": 0}  # still waiting
    clock.now += 2.0
    assert dispatcher.run_once().failed == 1
    clock.now += 3.9
    assert dispatcher.run_once().failed == 0  # 4 s not yet passed

    receiver = Receiver(port)
    try:
        clock.now += 0.1
        report = dispatcher.run_once()
        assert report.delivered == 3 and report.failed == 0
        assert dispatcher.run_once().delivered == 0  # nothing twice
        CatalogService(store).patch("system:hcm-hook", {"description": {"vi": "mô tả"}}, 2)
        assert dispatcher.run_once().delivered == 1
    finally:
        receiver.close()

    got = receiver.got
    ids = [int(h["x-ioc-delivery"]) for h, _ in got]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) == 4  # in order, exactly once
    assert ids[:3] == seqs
    for headers, body in got:
        assert verify(secret, body, headers["x-ioc-signature-256"])
        assert not verify("another secret", body, headers["x-ioc-signature-256"])
        payload = json.loads(body)
        assert payload["schema"] == SCHEMA and payload["id"] == int(headers["x-ioc-delivery"])
        assert payload["type"] == headers["x-ioc-event"]
        assert set(payload) == set(PAYLOAD_SCHEMA["properties"])
        assert headers["x-ioc-hook-id"] == sub.id
    types = [json.loads(b)["type"] for _, b in got]
    assert types == ["entity.created", "entity.updated", "relationship.created", "entity.updated"]
    first = json.loads(got[0][1])
    assert first["org"] == "organization:hcm-skhcn" and first["kind"] == "system" and first["actor"] == "architect"
    assert json.loads(got[1][1])["changed"] == ["attributes.vendor"]

    log = sorted(Webhooks(store).deliveries(sub.id), key=lambda d: (d.event, d.attempt))
    first_event = [(d.attempt, d.outcome, d.status) for d in log if d.event == seqs[0]]
    assert first_event == [(1, "retry", None), (2, "retry", None), (3, "delivered", 204)]
    assert all("ConnectError" in d.error for d in log if d.outcome == "retry")
    assert [(d.event, d.outcome) for d in log if d.event != seqs[0]] == [
        (seqs[1], "delivered"),
        (seqs[2], "delivered"),
        (ids[3], "delivered"),
    ]
    # the secret is in no change-log entry
    assert all(secret not in x.model_dump_json() for x in store.changelog(after_seq=0))


def test_given_up_after_the_attempts_then_redelivered_by_hand(store) -> None:
    port = free_port()
    sub, secret = Webhooks(store).create(f"http://127.0.0.1:{port}/", events=["entity.created"])
    seqs = changes(store)
    clock = Clock()
    dispatcher = Dispatcher(store, Policy(attempts=2, base_delay=1.0, max_delay=1.0, timeout=1.0), clock=clock)
    receiver = Receiver(port, status=500)
    try:
        assert dispatcher.run_once().failed == 1
        clock.now += 1.0
        assert dispatcher.run_once().given_up == 1  # second and last attempt: given up, the cursor moves on
        assert [(d.attempt, d.outcome, d.status) for d in Webhooks(store).deliveries(sub.id)] == [
            (2, "given-up", 500),
            (1, "retry", 500),
        ]
        receiver.status = 200
        d = Webhooks(store).redeliver(sub.id, seqs[0])
        assert (d.outcome, d.status) == ("manual", 200)
        assert dispatcher.run_once().delivered == 0  # the update and link are filtered out
    finally:
        receiver.close()
    bodies = [json.loads(b) for _, b in receiver.got]
    assert [b["id"] for b in bodies] == [seqs[0]] * 3
    assert all(verify(secret, b, h["x-ioc-signature-256"]) for h, b in receiver.got)


def test_kind_and_organisation_filters_and_inactive_subscriptions_resume(store) -> None:
    port = free_port()
    hooks = Webhooks(store)
    db_only, _ = hooks.create(f"http://127.0.0.1:{port}/db", kinds=["database"])
    skhcn, _ = hooks.create(f"http://127.0.0.1:{port}/org", orgs=["organization:hcm-skhcn"], active=False)
    seqs = changes(store)
    receiver = Receiver(port)
    try:
        assert Dispatcher(store).run_once().delivered == 0  # no database changed; the other is inactive
        hooks.update(skhcn.id, skhcn.version, active=True)
        assert Dispatcher(store).run_once().delivered == 3  # resumes where it stopped: nothing lost
    finally:
        receiver.close()
    assert [int(h["x-ioc-delivery"]) for h, _ in receiver.got] == seqs
    assert {h["x-ioc-hook-id"] for h, _ in receiver.got} == {skhcn.id}
    assert db_only.id != skhcn.id


def test_a_held_lease_keeps_a_second_worker_out(store) -> None:
    sub, _ = Webhooks(store).create("http://127.0.0.1:9/")
    changes(store)
    clock = Clock()
    held = claim(store, cursor_name(sub.id), 60.0, clock)
    assert held is not None
    report = Dispatcher(store, clock=clock).run_once()
    assert report.skipped == [sub.id] and report.failed == 0
    clock.now += 61  # the holder died: its lease expires and another worker takes over
    assert claim(store, cursor_name(sub.id), 60.0, clock) is not None
    assert not held.save(seq=0)  # the old holder notices and stops


@pytest.mark.parametrize(
    "url, reason",
    [
        ("ftp://example.org/hook", "webhook-url-scheme"),
        ("file:///etc/passwd", "webhook-url-scheme"),
        ("http://user:pw@example.org/", "webhook-url-credentials"),
        ("http:///nohost", "webhook-url-malformed"),
        ("http://exa mple.org/", "webhook-url-malformed"),
        ("", "webhook-url-required"),
    ],
)
def test_refused_urls_name_the_field_and_reason(store, url: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        Webhooks(store).create(url)
    assert [(e.location, e.reason.code) for e in exc.value.errors] == [("url", reason)]


def test_only_admins_manage_subscriptions(store) -> None:
    for role in ("architect", "auditor", "viewer"):
        with pytest.raises(PermissionDenied):
            Webhooks(store, Principal("x", role)).create("https://example.org/hook")
    with pytest.raises(ValidationFailed) as exc:
        Webhooks(store).create("https://example.org/hook", events=["entity.exploded"])
    assert exc.value.errors[0].location == "events"


def test_the_delivery_log_keeps_the_newest_entries(store) -> None:
    from catalog.webhooks import DELIVERIES, prune_log

    sub, _ = Webhooks(store).create("http://127.0.0.1:9/")
    changes(store)
    clock = Clock()
    dispatcher = Dispatcher(
        store, Policy(attempts=3, base_delay=1.0, max_delay=1.0, timeout=1.0, log_keep=10), clock=clock
    )
    for _ in range(9):  # three events, given up after 3 attempts each: 9 entries
        dispatcher.run_once()
        clock.now += 1.0
    assert store.count_records(DELIVERIES) == 9
    newest = [d.key for d in Webhooks(store).deliveries(sub.id, 4)]
    assert prune_log(store, keep=4) == 5
    assert [d.key for d in Webhooks(store).deliveries(sub.id)] == newest


@pytest.mark.parametrize("field", ["url", "description", "orgs"])
def test_hostile_text_is_refused_by_the_text_rules(store, field: str) -> None:
    values = {"url": "https://example.org/hook", "description": "", "orgs": []}
    bad = "a\ud800b" if field != "orgs" else ["organization:\u202ehcm"]
    values[field] = bad
    with pytest.raises(ValidationFailed) as exc:
        Webhooks(store).create(values["url"], orgs=values["orgs"], description=values["description"])
    assert exc.value.errors[0].location.startswith(field)
