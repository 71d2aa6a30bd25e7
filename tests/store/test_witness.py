"""The change log's head witnessed outside the store (issue 13, item 8): a truncated tail is detected.

An attacker with access to the store deletes the last entry, or the last 50, with the store's own connection (SQLite)
or a Cypher session (Neo4j, moving the stored LogHead too, so the built-in end check passes). On its own, the chain
that is left fails only where a cut entry wrote a state that the current facts still show (each fact written once:
docs/architecture.md), without naming what is missing; against a witnessed head (a head file, an audit bundle, the
IOC_CATALOG_HEAD_WITNESS file) it fails, naming the missing entries. Runs on both backends (the ``store`` fixture).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest
from conftest import entity, rel, typer_app
from typer.testing import CliRunner

from catalog.changelog import GENESIS, Head, HeadWitness, parse_head, read_heads, verify_chain
from catalog.errors import AlreadyExists
from catalog.permissions import Principal
from catalog.services import CatalogService
from catalog.store import open_store
from catalog.store.base import BulkLoad, CatalogStore, WriteContext

CTX = WriteContext(actor="tester", request_id="req-witness")
ADMIN = Principal("tester", "admin")


def fill(store: CatalogStore, n: int = 60) -> None:
    """An organisation and ``n`` systems (one bulk load: ``n`` + 1 entries) and a few single writes after it."""
    store.create_entity(entity("organization:o", "Sở O"), CTX)
    store.bulk_load(
        BulkLoad(source="t", run="r1", entities=[entity(f"system:s{i:03d}", owner="organization:o") for i in range(n)]),
        CTX,
    )
    store.create_relationship(rel("operated_by", "system:s000", "organization:o"), CTX)
    e = store.get_entity("system:s001")
    store.update_entity(e.model_copy(update={"tags": ["witnessed"]}), e.version, CTX)


def cut_tail(store: CatalogStore, keep: int) -> None:
    """Delete every change-log entry after ``keep``, as someone with access to the database would."""
    if store.__class__.__name__ == "SQLiteStore":
        store._conn().execute("DELETE FROM changelog WHERE seq > ?", (keep,))
        return
    with store._driver.session(database=store.database) as session:  # a Cypher session of the attacker's own
        session.run("MATCH (c:ChangeEntry) WHERE c.seq > $keep DETACH DELETE c", keep=keep).consume()
        last = session.run(
            "MATCH (c:ChangeEntry {seq: $keep}) RETURN c.hash AS hash, c.time AS time", keep=keep
        ).single()
        session.run(
            "MATCH (h:LogHead {id: 'head'}) SET h.seq = $keep, h.hash = $hash, h.time = $time",
            keep=keep,
            hash=last["hash"],
            time=last["time"],
        ).consume()


def head_file(tmp_path: Path, store: CatalogStore, name: str = "heads.jsonl") -> Path:
    path = tmp_path / name
    with path.open("a", encoding="utf-8") as f:
        f.write(store.log_head().line())
    return path


# --- the attack: deleting the last entry, or the last 50 --------------------------------------------------------------


@pytest.mark.parametrize("cut", [1, 50])
def test_witness_detects_a_cut_off_tail(store: CatalogStore, tmp_path: Path, cut: int) -> None:
    fill(store)
    head = store.log_head()
    assert head.seq == 63
    witness = read_heads(head_file(tmp_path, store))
    assert witness == [head]
    intact = store.verify_log(witness)
    assert intact.ok and intact.witnessed == head.seq, str(intact)

    cut_tail(store, head.seq - cut)

    alone = store.verify_log()  # on its own, a shorter chain is caught only through the facts the cut entries wrote:
    # each fact written once, system:s001's creation (entry 3) now derives its after from the current row, which is
    # the cut update's; the missing entries are not named
    assert not alone.ok and alone.bad_seq == 3 and "missing" not in str(alone)
    result = store.verify_log(witness)
    assert not result.ok and result.bad_seq == head.seq - cut + 1
    first = head.seq - cut + 1
    missing = f"entry {first} is missing" if cut == 1 else f"entries {first}-{head.seq} are missing"
    assert f"{missing}: the log ends at {head.seq - cut} but" in str(result)
    assert f"saw {head.seq}" in str(result) and "heads.jsonl" in str(result)


def test_an_intact_log_passes_every_witness(store: CatalogStore, tmp_path: Path) -> None:
    fill(store, 5)
    path = head_file(tmp_path, store)
    store.create_entity(entity("organization:later"), CTX)  # a witnessed head need not be the last one
    path.write_text(path.read_text() + store.log_head().line())
    heads = read_heads(path)
    assert [h.seq for h in heads] == [8, 9]
    result = store.verify_log(heads)
    assert result.ok and result.witnessed == 9 and "it holds the witnessed head #9" in str(result)
    assert store.verify_log([Head(0, GENESIS)]).ok  # the empty log's head is in every log


def test_a_log_cut_back_and_written_again_is_detected(store: CatalogStore, tmp_path: Path) -> None:
    """Truncation followed by new writes reaches the old length again; the old heads no longer match."""
    path = tmp_path / "heads.jsonl"
    store.head_witness = HeadWitness(path)
    fill(store, 20)
    seq = store.revision()[0]
    cut_tail(store, seq - 3)
    svc = CatalogService(store, ADMIN)
    for i in range(5):
        svc.register(
            {
                "ref": f"organization:new{i}",
                "name": {"vi": "Mới", "en": "New"},
                "attributes": {"org_type": "department"},
            }
        )
    assert store.revision()[0] == seq + 2  # longer than before the cut
    result = store.verify_log()  # the configured witness is checked without being named
    assert not result.ok and result.bad_seq == seq - 2
    assert f"entry {seq - 2} is not the one the head witness {path}" in str(result)
    assert "the log was rewritten at or before entry" in str(result)
    alone = store.verify_log(configured_witness=False)  # the cut update of system:s001 is still its current row
    assert not alone.ok and alone.bad_seq == 3 and "rewritten" not in str(alone)


# --- the IOC_CATALOG_HEAD_WITNESS file --------------------------------------------------------------------------------


def test_every_committed_write_appends_its_head_once(store: CatalogStore, tmp_path: Path) -> None:
    path = tmp_path / "witness" / "heads.jsonl"
    path.parent.mkdir()
    store.head_witness = HeadWitness(path)
    store.create_entity(entity("organization:o"), CTX)  # one write: one line
    store.bulk_load(
        BulkLoad(source="t", run="r", entities=[entity(f"system:b{i}", owner="organization:o") for i in range(300)]),
        CTX,
    )  # one line for 300 entries
    with store.transaction(CTX):  # nested writes: one line at the outer commit
        store.create_entity(entity("system:n1", owner="organization:o"), CTX)
        store.create_entity(entity("system:n2", owner="organization:o"), CTX)
    store.put_record("import-run", "r", {"status": "done"}, CTX, log=False)  # no log entry: no line
    with pytest.raises(AlreadyExists):
        store.create_entity(entity("organization:o"), CTX)  # refused: nothing committed, no line
    heads = read_heads(path)
    assert [h.seq for h in heads] == [1, 301, 303]
    assert heads[-1] == store.log_head() and all(h.time for h in heads)
    log = {e.seq: e.hash for e in store.changelog()}
    assert all(log[h.seq] == h.hash for h in heads)
    assert store.verify_log().ok


def test_concurrent_writers_each_append_a_whole_line(store: CatalogStore, tmp_path: Path) -> None:
    path = tmp_path / "heads.jsonl"
    store.head_witness = HeadWitness(path)
    store.create_entity(entity("organization:o"), CTX)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            svc = CatalogService(store, ADMIN)
            for i in range(4):
                svc.register(
                    {
                        "ref": f"system:w{n}-{i}",
                        "name": {"vi": "Hệ thống", "en": "System"},
                        "owner": "organization:o",
                        "attributes": {"lifecycle": "production"},
                    }
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    heads = read_heads(path)  # every line parses: none torn or interleaved
    assert sorted(h.seq for h in heads) == list(range(1, 34))  # one line per transaction, in any order
    log = {e.seq: e.hash for e in store.changelog()}
    assert all(log[h.seq] == h.hash for h in heads)
    assert store.verify_log().ok


def test_a_failed_append_keeps_the_write_and_is_logged(
    store: CatalogStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-file"
    blocked.mkdir()  # appending to a folder fails
    store.head_witness = HeadWitness(blocked)
    with caplog.at_level(logging.ERROR, logger="ioc_catalog.witness"):
        store.create_entity(entity("organization:o"), CTX)
    assert store.find_entity("organization:o") is not None and store.revision()[0] == 1
    record = next(r for r in caplog.records if r.name == "ioc_catalog.witness")
    assert record.levelno == logging.ERROR and "#1" in record.getMessage() and str(blocked) in record.getMessage()
    assert "the write itself is committed" in record.getMessage()
    result = store.verify_log()  # the configured witness cannot be read: reported, not passed
    assert not result.ok and "head witness cannot be read" in str(result)


def test_a_missing_or_damaged_witness_file_fails_the_check(store: CatalogStore, tmp_path: Path) -> None:
    path = tmp_path / "heads.jsonl"
    store.head_witness = HeadWitness(path)
    assert store.verify_log().ok  # nothing written yet: nothing to witness
    store.create_entity(entity("organization:o"), CTX)
    assert store.verify_log().ok
    path.unlink()
    result = store.verify_log()
    assert not result.ok and "does not exist but the log has 1 entries" in str(result)
    assert "--print-head" in str(result)
    path.write_text(store.log_head().line() + '{"seq": 2, "hash": "abc"}\n')
    result = store.verify_log()
    assert not result.ok and "line 2 is not a change-log head" in str(result)


def test_open_store_wires_the_setting_and_refuses_the_catalog_file_itself(tmp_path: Path) -> None:
    from catalog.errors import ValidationFailed

    db = tmp_path / "c.db"
    with pytest.raises(ValidationFailed, match="outside the store"):
        open_store(f"sqlite:///{db}", head_witness=str(db))
    s = open_store(f"sqlite:///{db}", head_witness=str(tmp_path / "w.jsonl"))
    try:
        s.create_entity(entity("organization:o"), CTX)
        assert read_heads(tmp_path / "w.jsonl") == [s.log_head()]
    finally:
        s.close()


# --- the chain check itself -------------------------------------------------------------------------------------------


def test_verify_chain_with_witnessed_heads() -> None:
    from catalog.changelog import entry_hash

    rows, prev = [], GENESIS
    for seq in range(1, 6):
        time = f"2025-01-01T00:00:0{seq}.000000Z"
        h = entry_hash(seq, time, "a", "r", "create", f"organization:o{seq}", None, {"n": seq}, prev)
        rows.append((seq, time, "a", "r", "create", f"organization:o{seq}", None, {"n": seq}, prev, h))
        prev = h
    heads = {seq: Head(seq, row[-1], row[1], f"w:{seq}") for seq, row in enumerate(rows, 1)}
    assert verify_chain(rows, [heads[5], heads[2], heads[5]]).witnessed == 5  # any order, repeated lines
    short = verify_chain(rows[:3], [heads[2], heads[5]])
    assert (
        not short.ok
        and short.bad_seq == 4
        and "entries 4-5 are missing: the log ends at 3 but w:5 saw 5" in short.reason
    )
    other = verify_chain(rows, [heads[2], Head(4, "f" * 64, source="w:x")])
    assert not other.ok and other.bad_seq == 4 and "witnessed head #2 before it still matches" in other.reason
    empty = verify_chain([], [heads[1]])
    assert not empty.ok and "entry 1 is missing: the log ends at 0" in empty.reason


@pytest.mark.parametrize(
    "line, problem",
    [
        ("[]", "not a JSON object"),
        ('{"seq": -1, "hash": "' + "0" * 64 + '"}', "seq"),
        ('{"seq": 1, "hash": "XYZ"}', "hash"),
        ("nope", "not JSON"),
        ('{"seq": true, "hash": "' + "0" * 64 + '"}', "seq"),
    ],
)
def test_parse_head_refuses_what_is_not_a_head(line: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_head(line)


# --- the command line -------------------------------------------------------------------------------------------------


def _cli():
    from api.commands_backup import register

    return typer_app(register)


def test_cli_print_head_then_witness_detects_the_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IOC_CATALOG_HEAD_WITNESS", raising=False)
    url = f"sqlite:///{tmp_path / 'c.db'}"
    s = open_store(url)
    fill(s, 10)
    s.close()
    runner, app = CliRunner(env={"IOC_CATALOG_LANG": "en"}), _cli()  # the English words of the command line
    printed = runner.invoke(app, ["verify-log", "--store", url, "--print-head"])
    assert printed.exit_code == 0, printed.output
    line = printed.stdout.strip().splitlines()[-1]
    head = parse_head(line)
    assert head.seq == 13 and json.loads(line) == {"seq": 13, "hash": head.hash, "time": head.time}
    heads = tmp_path / "heads.jsonl"
    heads.write_text(line + "\n")
    ok = runner.invoke(app, ["verify-log", "--store", url, "--witness", str(heads)])
    assert ok.exit_code == 0 and "it holds the witnessed head #13" in ok.output
    s = open_store(url)
    cut_tail(s, 12)
    s.close()
    bad = runner.invoke(app, ["verify-log", "--store", url, "--witness", str(heads)])
    assert bad.exit_code == 1
    assert "entry 13 is missing: the log ends at 12" in " ".join(bad.output.split())
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("not a head\n")
    refused = runner.invoke(app, ["verify-log", "--store", url, "--witness", str(garbage)])
    assert refused.exit_code != 0 and "line 1 is not a change-log head" in " ".join(str(refused.exception).split())


def test_an_audit_bundle_witnesses_its_head(tmp_path: Path) -> None:
    import datetime as dt

    from diagrams.bundle import build_bundle, bundle_head

    s = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        fill(s, 3)
        manifest = build_bundle(s, dt.date.today() + dt.timedelta(days=1), tmp_path / "b.zip")
        head = bundle_head(tmp_path / "b.zip")
        assert (head.seq, head.hash) == (manifest["changelog_head"]["seq"], manifest["changelog_head"]["hash"])
        assert head == s.log_head() and "audit bundle" in head.source
        assert s.verify_log([head]).ok
        cut_tail(s, head.seq - 1)
        result = s.verify_log([head])
        assert not result.ok and f"entry {head.seq} is missing" in str(result) and "b.zip" in str(result)
    finally:
        s.close()
