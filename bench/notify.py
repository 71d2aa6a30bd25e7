"""Benchmark the change log's consumers (catalog.outbox): notices and webhook deliveries, each beside its baseline.

    python -m bench.notify                  # 20,000 entities (one change-log entry each), 2,000 webhook events
    python -m bench.notify --quick          # 2,000 entities, 300 events: a smoke run

On a fresh SQLite catalog of synthetic systems loaded in one import run (one change-log entry per entity):

- ``read log``: every entry read with ``store.changelog(after_seq, limit=1000)``, page by page: the reference;
- ``notices``: ``catalog.notices.catch_up`` over the same entries, 1,000 a call, with 100 users each watching 100 of
  the entities (10,000 notices written): reading, turning entries into events, finding watchers, writing boxes;
- ``raw POST``: the first E events' payloads POSTed with one httpx client to a receiver on 127.0.0.1, nothing
  else: the reference for deliveries;
- ``webhooks``: ``catalog.webhooks.Dispatcher.run_once`` delivering the same E events (signing, one POST each, a
  delivery-log record and a cursor move per event).

Prints each, events per second, and the ratios (notices / read log, webhooks / raw POST) with the load average;
asserts nothing. bench/README.md keeps the table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from catalog.model import parse_entity
from catalog.store import open_store
from catalog.store.base import BulkLoad, WriteContext, new_run_id


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entities", type=int, default=20_000)
    ap.add_argument("--events", type=int, default=2_000, help="webhook events delivered (the first E entries)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.entities, args.events = 2_000, 300
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the tests' webhook receiver
    from http_receiver import Receiver, free_port

    from catalog.accounts import Accounts
    from catalog.notices import WATCHES, catch_up
    from catalog.outbox import events_after, start_cursor
    from catalog.webhooks import Dispatcher, Policy, Webhooks, body_of

    tmp = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    store = open_store(f"sqlite:///{tmp / 'c.db'}", create=True)
    org = parse_entity(
        {"kind": "organization", "code": "b-org", "name": {"vi": "Sở"}, "attributes": {"org_type": "department"}}
    )
    ents = [org] + [
        parse_entity(
            {
                "kind": "system",
                "code": f"b-sys-{i:06d}",
                "name": {"vi": f"Hệ thống {i}"},
                "owner": "organization:b-org",
                "attributes": {"lifecycle": "production"},
            }
        )
        for i in range(args.entities)
    ]
    accounts = Accounts(store)
    for u in range(100):
        accounts.add_user(f"u{u:03d}", "viewer")
        for k in range(100):
            ref = f"system:b-sys-{(u * 100 + k) % args.entities:06d}"
            rec = store.get_record(WATCHES, ref)
            users = sorted({*(rec.data["users"] if rec else []), f"u{u:03d}"})
            store.put_record(WATCHES, ref, {"users": users}, WriteContext(), log=False)
    start_cursor(store, "notices")
    port = free_port()
    sub, _ = Webhooks(store).create(f"http://127.0.0.1:{port}/", events=["entity.created"])
    first = store.revision()[0]
    t = time.perf_counter()
    store.bulk_load(BulkLoad(source="bench", run=new_run_id(), entities=ents), WriteContext(actor="bench"))
    print(f"loaded {len(ents):,} entities in {time.perf_counter() - t:.1f} s; log head {store.revision()[0]:,}")

    t = time.perf_counter()
    seq, n = first, 0
    while True:
        page = store.changelog(after_seq=seq, limit=1000)
        if not page:
            break
        seq, n = page[-1].seq, n + len(page)
    read_s = time.perf_counter() - t

    t = time.perf_counter()
    notices = 0
    while True:
        before = store.get_record("outbox-cursor", "notices").data["seq"]  # type: ignore[union-attr]
        notices += catch_up(store, batch=1000)
        if store.get_record("outbox-cursor", "notices").data["seq"] == before:  # type: ignore[union-attr]
            break
    notices_s = time.perf_counter() - t

    import httpx

    events, _ = events_after(store, first, args.events + 1)
    events = [e for e in events if e.type == "entity.created"][: args.events]
    receiver = Receiver(port)
    try:
        t = time.perf_counter()
        with httpx.Client(timeout=10, trust_env=False) as c:
            for ev in events:
                c.post(f"http://127.0.0.1:{port}/", content=body_of(ev))
        raw_s = time.perf_counter() - t
        receiver.got.clear()
        policy = Policy(batch=events[-1].id - first)
        t = time.perf_counter()
        report = Dispatcher(store, policy).run_once()
        hooks_s = time.perf_counter() - t
    finally:
        receiver.close()
    load = os.getloadavg()
    print(f"log entries read: {n:,} in {read_s * 1000:.0f} ms ({n / read_s:,.0f}/s)")
    print(
        f"notices: {notices:,} written from {n:,} entries in {notices_s * 1000:.0f} ms ({n / notices_s:,.0f} entries/s)"
    )
    print(f"  notices / read log: {notices_s / read_s:.1f}x")
    print(f"raw POST: {len(events):,} in {raw_s:.2f} s ({len(events) / raw_s:,.0f}/s)")
    print(f"webhooks: {report.delivered:,} delivered in {hooks_s:.2f} s ({report.delivered / hooks_s:,.0f}/s)")
    print(f"  webhooks / raw POST: {hooks_s / raw_s:.2f}x")
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; {os.cpu_count()} cores")
    store.close()


if __name__ == "__main__":
    main()
