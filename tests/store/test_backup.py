"""Backup and restore of a catalog in use, and writes that fail for lack of disk space (issue 13, item 11).

- A backup taken while 20 writers go on writing through CatalogService restores into a catalog whose log verifies and
  whose content equals the source's at the backup's head (the source's own log replayed to that seq), on both
  backends (Neo4j: the backup is a logical copy, consistent at a head; it is also restored into Neo4j).
- A dump read while the store is written is one state, deterministically: writes land between its pages.
- Restore refuses a catalog that is not empty and says what would be lost; a damaged backup restores nothing; the
  backup file is never changed.
- A write that needs space the disk does not have (SQLite's max_page_count; a small tmpfs when this runs as root)
  fails with StoreFull (code "store-full") and leaves the catalog unchanged and verifying.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import entity, rel, typer_app
from typer.testing import CliRunner

from catalog.backup import BackupFailed, RestoreRefused, backup, plan_restore, restore
from catalog.digest import content_hash, content_hash_at
from catalog.errors import StoreError, StoreFull
from catalog.permissions import Principal
from catalog.services import CatalogService
from catalog.store import open_store
from catalog.store.base import BulkLoad, CatalogStore, WriteContext

CTX = WriteContext(actor="tester", request_id="req-backup")
ADMIN = Principal("tester", "admin")
WRITERS = 20


def base(store: CatalogStore, n: int = 30) -> None:
    """An organisation, ``n`` systems operated by it, a logged user record and an unlogged session."""
    store.create_entity(entity("organization:o", "Sở Thông tin và Truyền thông"), CTX)
    systems = [entity(f"system:s{i:03d}", f"Hệ thống {i}", owner="organization:o") for i in range(n)]
    store.bulk_load(
        BulkLoad(
            source="t",
            run="r1",
            entities=systems,
            relationships=[rel("operated_by", e.ref, "organization:o") for e in systems[::3]],
        ),
        CTX,
    )
    store.put_record("user", "lan", {"name": "lan", "role": "architect"}, CTX)
    store.put_record("session", "abc", {"user": "lan"}, CTX, log=False)


def sqlite(path: Path) -> CatalogStore:
    return open_store(f"sqlite:///{path}")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_content_hash_at_is_the_content_the_log_records(store: CatalogStore) -> None:
    base(store)
    first = (store.revision()[0], content_hash(store))
    svc = CatalogService(store, ADMIN)
    e = store.get_entity("system:s001")
    svc.patch(e.ref, {"description": {"vi": "Mô tả “mới”", "en": "new"}}, e.version)
    gone = store.get_entity("system:s000")
    svc.delete(gone.ref, gone.version, cascade=True)
    svc.apply_event(
        {
            "id": "rename-o",
            "type": "rename",
            "date": "2025-07-01",
            "from": ["organization:o"],
            "to": ["organization:o"],
            "new_name": {"vi": "Sở mới", "en": "New department"},
        }
    )
    assert content_hash_at(store) == content_hash(store) != first[1]
    assert content_hash_at(store, first[0]) == first[1]
    assert content_hash_at(store, first[0], batch=7) == first[1]  # across pages of the log


def test_a_dump_is_one_state_while_the_store_is_written(store: CatalogStore, tmp_path: Path) -> None:
    """Writes land between the dump's pages: the copy is still the state at one head, with the log up to it."""
    base(store)
    start, start_hash = store.revision(), content_hash(store)
    target = sqlite(tmp_path / "copy.db")
    try:
        sections = []
        dump = store.dump(batch=10)
        section, items = next(dump)  # organization:o and system:s000-s008
        assert section == "entities" and items[-1].ref == "system:s008"
        target.restore(section, items)
        svc = CatalogService(store, ADMIN)
        e = store.get_entity("system:s003")  # already copied
        svc.patch(e.ref, {"tags": ["changed-during-the-dump"]}, e.version)
        gone = store.get_entity("system:s021")  # not copied yet, with a relationship
        svc.delete(gone.ref, gone.version, cascade=True)
        svc.register(
            {
                "ref": "system:s999",
                "name": {"vi": "Mới", "en": "New"},
                "owner": "organization:o",
                "attributes": {"lifecycle": "production"},
            }
        )
        svc.link({"type": "operated_by", "source": "system:s999", "target": "organization:o"})
        store.put_record("user", "lan", {"name": "lan", "role": "admin"}, CTX)
        for section, items in dump:
            sections.append(section)
            target.restore(section, items)
        head = target.revision()
        assert target.verify_log().ok
        assert store.changelog(after_seq=head[0] - 1, limit=1)[0].hash == head[1]  # a prefix of the source's log
        assert content_hash(target) == content_hash_at(store, head[0])
        if store.__class__.__name__ == "SQLiteStore":  # one read transaction: the state when the dump began
            assert head == start and content_hash(target) == start_hash
            assert target.get_record("user", "lan").data["role"] == "architect"
        else:  # settled after the writes: the state at the head it settled at, the writes corrected in
            assert "corrections" in sections and head == store.revision()
            assert content_hash(target) == content_hash(store)
            assert (
                target.find_entity("system:s021") is None
                and "changed-during-the-dump" in target.get_entity("system:s003").tags
            )
            assert target.get_record("user", "lan").data["role"] == "admin"
            assert target.get_record("session", "abc") is not None
    finally:
        target.close()


def test_restore_applies_corrections(store: CatalogStore) -> None:
    """The "corrections" section on every backend: replace in place, delete, add."""
    from catalog.store.base import Correction

    base(store, 3)
    old = store.get_entity("system:s001")
    new = old.model_copy(update={"tags": ["corrected"], "version": old.version + 1})
    r = store.list_relationships("system:s000")[0]
    extra = entity("system:s777", owner="organization:o").model_copy(
        update={"version": 1, "created_at": old.created_at, "updated_at": old.updated_at}
    )
    store.restore(
        "corrections",
        [
            Correction("entities", old.ref, new),
            Correction("entities", "system:s002", None),
            Correction("entities", extra.ref, extra),
            Correction("relationships", r.id, None),
            Correction("records", "user/lan", None),
        ],
    )
    assert store.get_entity("system:s001").tags == ["corrected"] and store.get_entity("system:s001").version == 2
    assert store.find_entity("system:s002") is None and store.find_entity("system:s777") is not None
    assert store.find_relationship(r.id) is None and store.get_record("user", "lan") is None
    assert store.search("s777")


# --- the must-show: a backup during 20 writers ------------------------------------------------------------------------


def test_backup_during_20_concurrent_writers_restores_the_source_at_its_head(
    store: CatalogStore, tmp_path: Path
) -> None:
    base(store)
    stop = threading.Event()
    done = [0] * WRITERS
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        svc = CatalogService(store, Principal(f"writer-{n:02d}", "admin"))
        i = 0
        try:
            while not stop.is_set():
                ref = f"system:w{n:02d}-{i:04d}"
                e = svc.register(
                    {
                        "ref": ref,
                        "name": {"vi": f"Hệ thống {n}-{i}", "en": "System"},
                        "owner": "organization:o",
                        "attributes": {"lifecycle": "production"},
                    }
                )
                svc.link({"type": "operated_by", "source": ref, "target": "organization:o"})
                e = svc.patch(ref, {"tags": [f"round-{i}"]}, e.version)
                if i % 3 == 2:
                    svc.delete(ref, e.version, cascade=True)
                i += 1
                done[n] = i
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(WRITERS)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 300
        while min(done) < 1 and not errors and time.monotonic() < deadline:  # every writer is writing
            time.sleep(0.01)
        assert not errors and min(done) >= 1
        before = store.revision()
        result = backup(store, tmp_path / "backup.db")
        after = store.revision()
        while store.revision()[0] < after[0] + 2 * WRITERS and not errors and time.monotonic() < deadline:
            time.sleep(0.01)  # and they go on after it
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    assert errors == [] and not any(t.is_alive() for t in threads)
    head = result.proof.head
    assert result.proof.ok and before[0] <= head.seq <= after[0] < store.revision()[0]
    assert result.method == ("sqlite-online-backup" if store.__class__.__name__ == "SQLiteStore" else "logical-copy")
    expected = content_hash_at(store, head.seq)  # the source at the backup's head, from its own log
    assert result.proof.content_hash == expected
    assert store.verify_log().ok

    restored = sqlite(tmp_path / "restored.db")
    try:
        r = restore(tmp_path / "backup.db", restored)
        assert r.ok and r.plan.empty and r.one_transaction
        assert restored.verify_log().ok and restored.revision() == (head.seq, head.hash)
        assert content_hash(restored) == expected
        assert restored.changelog() == store.changelog(limit=head.seq)
        assert restored.get_record("session", "abc") is not None  # unlogged records travel too
    finally:
        restored.close()

    if store.__class__.__name__ != "SQLiteStore":  # and back into Neo4j itself, over what was written since
        with pytest.raises(
            RestoreRefused,
            match=rf"entries \(#{head.seq + 1}-#{store.revision()[0]}\) written "
            "after this backup are lost",
        ):
            restore(tmp_path / "backup.db", store)
        r = restore(tmp_path / "backup.db", store, force=True, batch=100)
        assert r.ok and not r.one_transaction and r.plan.relation == "ahead"
        assert store.revision() == (head.seq, head.hash) and content_hash(store) == expected
        assert store.verify_log().ok


# --- restore ----------------------------------------------------------------------------------------------------------


def test_restore_refuses_a_catalog_that_is_not_empty_and_says_what_it_loses(tmp_path: Path) -> None:
    src = sqlite(tmp_path / "src.db")
    other = sqlite(tmp_path / "other.db")
    try:
        base(src)
        b = backup(src, tmp_path / "b.db")
        digest = sha256(tmp_path / "b.db")
        svc = CatalogService(src, ADMIN)
        for i in range(3):
            svc.register(
                {
                    "ref": f"organization:late{i}",
                    "name": {"vi": "Mới", "en": "New"},
                    "attributes": {"org_type": "department"},
                }
            )
        now = src.revision()
        with pytest.raises(RestoreRefused) as refused:
            restore(tmp_path / "b.db", src)
        message = refused.value.message
        assert f"3 change-log entries (#{b.proof.head.seq + 1}-#{now[0]}) written after this backup are lost" in message
        assert "34 entities" in message and "use --force" in message and refused.value.code == "restore-refused"
        assert src.revision() == now
        r = restore(tmp_path / "b.db", src, force=True)
        assert r.ok and r.plan.relation == "ahead" and src.revision() == (b.proof.head.seq, b.proof.head.hash)
        assert src.find_entity("organization:late0") is None and src.verify_log().ok
        assert sha256(tmp_path / "b.db") == digest  # read-only: the backup file is never changed
        assert not Path(f"{tmp_path / 'b.db'}-wal").exists()

        other.create_entity(entity("organization:elsewhere"), CTX)
        with open_backup_store(tmp_path / "b.db") as bs:
            assert plan_restore(bs, other).relation == "diverged"
            assert any("another history" in line for line in plan_restore(bs, other).losses())
        older = sqlite(tmp_path / "older.db")
        try:
            restore(tmp_path / "b.db", older)
            src.create_entity(entity("organization:newer"), CTX)
            backup(src, tmp_path / "newer.db")
            with open_backup_store(tmp_path / "newer.db") as bs:
                plan = plan_restore(bs, older)  # the newer backup continues the older catalog's log
                assert plan.relation == "behind" and any("no change-log entry is lost" in x for x in plan.losses())
        finally:
            older.close()
    finally:
        src.close(), other.close()


def open_backup_store(path: Path):
    from catalog.backup import open_backup

    return open_backup(path)


def test_a_damaged_backup_restores_nothing(tmp_path: Path) -> None:
    src = sqlite(tmp_path / "src.db")
    target = sqlite(tmp_path / "target.db")
    try:
        base(src)
        backup(src, tmp_path / "b.db")
        target.create_entity(entity("organization:keep"), CTX)
        kept = (target.revision(), content_hash(target))
        edited = tmp_path / "edited.db"
        edited.write_bytes((tmp_path / "b.db").read_bytes())
        with sqlite3.connect(edited) as conn:  # an entry of the log edited
            conn.execute("UPDATE changelog SET actor = 'someone-else' WHERE seq = 2")
        with pytest.raises(BackupFailed, match="BROKEN at entry 2"):
            restore(edited, target, force=True)
        content = tmp_path / "content.db"
        content.write_bytes((tmp_path / "b.db").read_bytes())
        with sqlite3.connect(content) as conn:  # the data changed behind the log's back
            conn.execute(
                "UPDATE entities SET data = replace(data, 'Hệ thống 5', 'Hệ thống 55') WHERE ref = 'system:s005'"
            )
        # the current row is the after of the entity's last entry (each fact written once): its log breaks there
        with pytest.raises(BackupFailed, match="BROKEN at entry 7"):
            restore(content, target, force=True)
        assert (target.revision(), content_hash(target)) == kept
        with pytest.raises(StoreError, match="not a catalog file"):
            not_a_catalog = tmp_path / "x.db"
            not_a_catalog.write_bytes(b"hello")
            restore(not_a_catalog, target, force=True)
    finally:
        src.close(), target.close()


def test_backup_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    from catalog.errors import ValidationFailed

    src = sqlite(tmp_path / "src.db")
    try:
        base(src, 2)
        backup(src, tmp_path / "b.db")
        src.create_entity(entity("organization:later"), CTX)
        with pytest.raises(ValidationFailed, match="exists"):
            backup(src, tmp_path / "b.db")
        with pytest.raises(ValidationFailed, match="the catalog itself"):
            backup(src, tmp_path / "src.db", force=True)
        again = backup(src, tmp_path / "b.db", force=True)
        assert again.proof.head.seq == src.revision()[0]
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".b.db")) == []  # no leftovers
    finally:
        src.close()


# --- a full disk ------------------------------------------------------------------------------------------------------


def test_a_write_beyond_max_page_count_fails_cleanly(tmp_path: Path) -> None:
    s = sqlite(tmp_path / "c.db")
    try:
        base(s)
        conn = s._conn()  # this thread's connection: the one the writes below use
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        assert conn.execute(f"PRAGMA max_page_count = {pages}").fetchone()[0] == pages
        before = (s.revision(), content_hash(s), s.count_entities())
        big = BulkLoad(
            source="t",
            run="r2",
            entities=[entity(f"system:big{i:04d}", "x" * 300, owner="organization:o") for i in range(2000)],
        )
        with pytest.raises(StoreFull) as full:
            s.bulk_load(big, CTX)
        assert full.value.code == "store-full" and isinstance(full.value, StoreError)
        assert "full" in full.value.message and "unchanged" in full.value.message
        svc = CatalogService(s, ADMIN)
        with pytest.raises(StoreFull):
            svc.register(
                {
                    "ref": "system:one-more",
                    "name": {"vi": "x" * 2000, "en": "x"},
                    "owner": "organization:o",
                    "attributes": {"lifecycle": "production"},
                    "description": {"vi": "y" * 60000, "en": ""},
                }
            )
        assert (s.revision(), content_hash(s), s.count_entities()) == before
        assert s.verify_log().ok
        conn.execute("PRAGMA max_page_count = 1073741823")
        assert s.bulk_load(big, CTX).created == {"system": 2000} and s.verify_log().ok  # the store goes on
    finally:
        s.close()


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 3 MiB tmpfs mounted for the test (needs root and mount rights; skips otherwise)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill_disk(folder: Path, leave: int) -> Path:
    st = os.statvfs(folder)
    filler = folder / "filler"
    filler.write_bytes(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))
    return filler


def test_a_full_file_system_fails_the_write_cleanly(small_disk: Path) -> None:
    s = sqlite(small_disk / "c.db")
    try:
        base(s)
        filler = fill_disk(small_disk, 32 * 1024)
        before = (s.revision(), content_hash(s), s.count_entities())
        big = BulkLoad(
            source="t",
            run="r2",
            entities=[entity(f"system:big{i:04d}", "x" * 300, owner="organization:o") for i in range(1000)],
        )
        with pytest.raises(StoreFull, match="full"):
            s.bulk_load(big, CTX)
        assert (s.revision(), content_hash(s), s.count_entities()) == before and s.verify_log().ok
        filler.unlink()
        s.create_entity(entity("organization:after"), CTX)  # room again: writes go on, the chain continues
        assert s.verify_log().ok and s.revision()[0] == before[0][0] + 1
    finally:
        s.close()


def test_a_full_disk_answers_store_full_over_http_in_both_languages(small_disk: Path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from catalog.accounts import Accounts
    from catalog.settings import Settings

    s = sqlite(small_disk / "c.db")
    try:
        base(s)
        accounts = Accounts(s)
        accounts.add_user("admin", "admin")
        token = accounts.create_token("admin").secret
        fill_disk(small_disk, 16 * 1024)
        before = (s.revision(), content_hash(s))
        # one small entity: its pages (16 KiB each: the row, its indexes, search text, log entry) go to the WAL
        body = {
            "code": "one-more",
            "name": {"vi": "Hệ thống", "en": "System"},
            "owner": "organization:o",
            "attributes": {"lifecycle": "production"},
            "description": {"vi": "mô tả " * 200, "en": "x" * 1000},
        }
        with TestClient(create_app(Settings(demo=True), store=s), raise_server_exceptions=False) as client:
            answers = {
                lang: client.post(
                    "/api/v1/systems", json=body, headers={"Authorization": f"Bearer {token}", "Accept-Language": lang}
                )
                for lang in ("en", "vi")
            }
        for _lang, r in answers.items():
            assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json"), r.text
            problem = r.json()
            assert problem["code"] == "store-full", problem
        assert answers["en"].json()["title"] == "Store full: no disk space left"
        assert "the catalog is unchanged" in answers["en"].json()["detail"]
        assert answers["vi"].json()["title"] == "Ổ đĩa chứa kho dữ liệu đã đầy"
        assert "danh mục vẫn giữ nguyên" in answers["vi"].json()["detail"]
        assert (s.revision(), content_hash(s)) == before and s.verify_log().ok
    finally:
        s.close()


def test_a_backup_onto_a_full_disk_leaves_no_file(tmp_path: Path, small_disk: Path) -> None:
    s = sqlite(tmp_path / "c.db")
    try:
        base(s, 300)
        fill_disk(small_disk, 16 * 1024)
        with pytest.raises(StoreFull, match="backup"):
            backup(s, small_disk / "b.db")
        assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]
    finally:
        s.close()


# --- the command line -------------------------------------------------------------------------------------------------


def _cli():
    from api.commands_backup import register

    return typer_app(register)


def test_cli_backup_and_restore_print_their_proofs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IOC_CATALOG_HEAD_WITNESS", raising=False)
    src_url, dst_url = f"sqlite:///{tmp_path / 'src.db'}", f"sqlite:///{tmp_path / 'dst.db'}"
    s = open_store(src_url)
    base(s)
    head, digest = s.revision(), content_hash(s)
    s.close()
    runner, app = CliRunner(env={"IOC_CATALOG_LANG": "en"}), _cli()  # the English words of the command line
    out = runner.invoke(app, ["backup", "--store", src_url, "-o", str(tmp_path / "b.db")])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert f"backup change-log head #{head[0]} {head[1]}" in text and f"backup content hash {digest}" in text
    assert "Verified: change log OK" in text
    out = runner.invoke(app, ["restore", str(tmp_path / "b.db"), "--store", dst_url])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert f"restored change-log head #{head[0]} {head[1]}" in text and f"restored content hash {digest}" in text
    assert "Restored in one transaction" in text
    again = runner.invoke(app, ["restore", str(tmp_path / "b.db"), "--store", dst_url])
    assert again.exit_code != 0 and "refusing to restore over it" in " ".join(str(again.exception).split())
    missing = runner.invoke(app, ["backup", "--store", src_url, "-o", str(tmp_path / "b.db")])
    assert missing.exit_code != 0  # exists: refused without --force


# --- compact ----------------------------------------------------------------------------------------------------------


def test_compact_gives_an_upgraded_files_freed_space_back_and_changes_no_fact(tmp_path: Path) -> None:
    """The case users meet: a file of the previous format (change-log entries holding a copy of every fact) is
    upgraded on open, which frees space inside the file but not on disk; ``compact`` gives it back."""
    from catalog.backup import compact

    db = tmp_path / "c.db"
    db.write_bytes((Path(__file__).parent.parent / "fixtures" / "sqlite_v3.db").read_bytes())
    s = sqlite(db)
    try:
        assert s.schema_versions()[0] == "4"  # upgraded on open
        head, digest, log = s.log_head(), content_hash(s), s.changelog()
        result = compact(s)
        assert result.ok and result.same and result.head == head and result.content_hash == digest
        assert result.after < result.before  # the freed pages are gone from the file
        assert db.stat().st_size == result.after and not Path(f"{db}-wal").stat().st_size  # WAL checkpointed, truncated
        assert (s.log_head(), content_hash(s), s.changelog()) == (head, digest, log) and s.verify_log().ok
        s.create_entity(entity("organization:after-compact"), CTX)  # the file goes on being written
        assert s.verify_log().ok and s.revision()[0] == head.seq + 1
    finally:
        s.close()


def test_compact_after_deletions_shrinks_the_file(tmp_path: Path) -> None:
    from catalog.backup import compact

    db = tmp_path / "c.db"
    s = sqlite(db)
    try:
        base(s, 600)
        svc = CatalogService(s, ADMIN)
        for i in range(0, 600, 2):
            e = s.get_entity(f"system:s{i:03d}")
            svc.delete(e.ref, e.version, cascade=True)
        counts = (s.count_entities(), s.count_relationships())
    finally:
        s.close()  # the last connection checkpoints the WAL into the file: the figures below compare files
    assert not Path(f"{db}-wal").exists() or not Path(f"{db}-wal").stat().st_size
    s = sqlite(db)
    try:
        before = db.stat().st_size
        result = compact(s)
        assert result.ok and result.after < result.before and db.stat().st_size < before
        assert (s.count_entities(), s.count_relationships()) == counts == (301, 100)
    finally:
        s.close()


def test_compact_on_a_full_disk_leaves_the_file_as_it_was(small_disk: Path) -> None:
    s = sqlite(small_disk / "c.db")
    try:
        base(s, 30)
        s.compact()
        before = (s.log_head(), content_hash(s), sha256(small_disk / "c.db"))
        fill_disk(small_disk, 8 * 1024)
        with pytest.raises(StoreFull, match="full"):
            s.compact()
        assert (s.log_head(), content_hash(s), sha256(small_disk / "c.db")) == before and s.verify_log().ok
    finally:
        s.close()


def test_compact_on_neo4j_refuses_and_says_why(neo) -> None:
    from catalog.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        neo.compact()
    reason = caught.value.errors[0].reason
    assert reason.code == "compact-embedded-only" and "Neo4j" in reason.text("en") and "Neo4j" in reason.text("vi")


@pytest.mark.parametrize(
    ("lang", "said", "same"),
    [
        ("en", "Compacted the catalog:", "No fact and no log entry changed"),
        ("vi", "Đã thu gọn danh mục:", "Không dữ kiện và không mục nhật ký nào thay đổi"),
    ],
)
def test_cli_compact_prints_sizes_and_the_unchanged_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str, said: str, same: str
) -> None:
    monkeypatch.delenv("IOC_CATALOG_HEAD_WITNESS", raising=False)
    url = f"sqlite:///{tmp_path / 'c.db'}"
    s = open_store(url)
    base(s)
    head, digest = s.revision(), content_hash(s)
    s.close()
    out = CliRunner(env={"IOC_CATALOG_LANG": lang}).invoke(_cli(), ["compact", "--store", url])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert said in text and same in text and "MiB" in text
    assert f"#{head[0]} {head[1]}" in text and digest in text
