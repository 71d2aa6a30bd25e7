"""The auditor's export bundle: one zip that states what the catalog said on a date, and proves it.

``build_bundle(store, as_of, path)`` writes, all read from the record at the end of ``as_of`` (both clocks, see
catalog.history.snapshot):

    changelog.jsonl             the change log up to as_of, one entry per line (canonical JSON)
    compliance.json             the compliance report on as_of, run on the record at as_of (catalog.history.frozen)
    diagrams/ioc.svg|pdf        the IOC integration view
    diagrams/landscape.svg|pdf  the whole landscape
    inventory/<kind>.csv        one CSV per kind: UTF-8 with BOM (Excel), cells starting with = + - @ (or a tab /
                                carriage return) prefixed with ' so a spreadsheet never runs them as formulas
    inventory/inventory.xlsx    the same inventory as one workbook, one sheet per kind, bilingual headers, frozen
                                header row, every cell text (same apostrophe rule); see diagrams.inventory
    manifest.json               SHA-256 and size of every other file, the change-log head (seq, hash, time) at
                                as_of, the Graphviz version; and its own SHA-256 over its canonical JSON

Same catalog and date, same bytes: entries sorted, fixed zip timestamps (1980-01-01) and permissions, canonical JSON,
PDF creation date fixed to as_of, XLSX document dates fixed to as_of and its package re-packed with fixed entry
times.

``verify_bundle(path)`` recomputes every hash, checks that the manifest was not edited (self-hash and canonical
form), that nothing was added or removed, and that the change log is an unbroken hash chain ending at the head the
manifest names; it reports the first bad file. With ``store`` it also checks that the live catalog's change log has
that head at that sequence number (the bundle is tamper-evident against the catalog, not signed).

``bundle_head(path)`` is the manifest's head after the bundle verifies: a head witnessed outside the store, which
``ioc-catalog verify-log --witness bundle.zip`` checks the catalog's log against (entries cut off the end after it
are then reported missing).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
import zlib
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

from catalog.changelog import Head, canonical_json, verify_chain
from catalog.errors import CatalogError
from catalog.history.frozen import FrozenStore
from catalog.history.snapshot import NothingRecorded, load_snapshot, parse_day, recorded_graph
from catalog.i18n import Message, msg
from catalog.store.base import CatalogStore
from diagrams.dot import to_dot
from diagrams.inventory import FORMULA_START, inventory_csv, inventory_xlsx, safe_cell
from diagrams.registry import ViewParams, build
from diagrams.render import graphviz_version, render

FORMAT = "ioc-catalog-audit-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MAIN_VIEWS = ("ioc", "landscape")
INVENTORY_XLSX = "inventory/inventory.xlsx"
NOTES: list[str] = []


class BundleError(CatalogError):
    status = 422
    code = "bad-bundle"


@dataclass(frozen=True)
class BundleCheck:
    ok: bool
    checked: int
    bad_file: str | None = None
    reason: str = ""  # a Message: why the check failed

    def message(self) -> Message:
        """The outcome in words, in any language (``.text(lang)``); ``str()`` of it is the English."""
        if self.ok:
            return msg("bundle-ok", n=self.checked)
        return msg("bundle-broken", file=self.bad_file, reason=self.reason)

    def __str__(self) -> str:
        return str(self.message())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _json(value: Any) -> bytes:
    return (json.dumps(_plain(value), ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8")


def bundle_files(
    store: CatalogStore, as_of: dt.date | str, lang: str = "vi", from_day: dt.date | str | None = None
) -> tuple[dict[str, bytes], dict]:
    """Every file of the bundle except the manifest, and the manifest's body.

    A day before the catalog's first record (the demo's 2025, recorded when the demo was built) still builds: the
    bundle then describes the world on that day in the current record and its notes say so (the same day later
    may then give other bytes). With ``from_day``, the bundle covers the period ``from_day`` to ``as_of``: the
    changes between the two days (catalog.history.diff) are in ``changes/`` and their diagram in ``diagrams/``."""
    from catalog.compliance import check
    from catalog.i18n import msg, text

    day = parse_day(as_of, "as_of")
    assert day is not None
    start = parse_day(from_day, "from")
    notes = list(NOTES)
    record_day: dt.date | None = day
    try:
        snap = load_snapshot(store, day)
    except NothingRecorded:
        record_day = None  # nothing recorded by then: the current record, valid on that day
        first = store.changelog(limit=1)[0].time[:10]
        notes.append(text(msg("bundle-before-record", day=day.isoformat(), first=first), lang))
        snap = load_snapshot(store, None, day)
    files: dict[str, bytes] = {}
    for view in MAIN_VIEWS:
        dot = to_dot(build(store, view, ViewParams(as_of=record_day, valid_on=day, lang=lang)), store.metamodel)
        for fmt in ("svg", "pdf"):
            files[f"diagrams/{view}.{fmt}"] = render(dot, fmt, pdf_date=day)
    if start is not None:
        files.update(_period_files(store, start, day, record_day, lang))
    record = recorded_graph(store, record_day)
    entities = list(snap.entities.values())
    for kind in store.metamodel.kinds:
        files[f"inventory/{kind}.csv"] = inventory_csv(entities, kind, store.metamodel, day)
    files[INVENTORY_XLSX] = inventory_xlsx(entities, store.metamodel, day)
    frozen = FrozenStore(record, day, (snap.revision.seq, snap.revision.hash), store.metamodel)
    report = check(frozen, today=day)
    files["compliance.json"] = _json(report.to_json())
    entries = store.changelog(until=record_day.isoformat() if record_day else None) if snap.revision.seq else []
    entries = [e for e in entries if e.seq <= snap.revision.seq]  # nothing written while the bundle was built
    files["changelog.jsonl"] = "".join(canonical_json(e.model_dump(mode="json")) + "\n" for e in entries).encode(
        "utf-8"
    )
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "as_of": day.isoformat(),
        "lang": lang,
        "changelog_head": {"seq": snap.revision.seq, "hash": snap.revision.hash, "time": snap.revision.time},
        "graphviz": graphviz_version(),
        "notes": notes,
        "valid_on": day.isoformat(),
        "recorded_at": record_day.isoformat() if record_day else None,
        "period": {"from": start.isoformat() if start else None, "to": day.isoformat()},
        "files": {name: {"sha256": sha256(data), "bytes": len(data)} for name, data in sorted(files.items())},
    }
    return files, manifest


def _period_files(
    store: CatalogStore, start: dt.date, end: dt.date, record_day: dt.date | None, lang: str
) -> dict[str, bytes]:
    """The changes between ``start`` and ``end`` (both in the bundle's record): JSON, CSV, XLSX (every change) and
    the diagram (under the diagrams' default size budget, as the bundle's other diagrams)."""
    from catalog.history.diff import compare
    from diagrams.registry import budget, registry

    s1, s2 = load_snapshot(store, record_day, start), load_snapshot(store, record_day, end)
    d = compare(store, s1, s2, record_day, record_day)
    out = {
        "changes/diff.json": _json(d.to_json()),
        "changes/diff.csv": d.to_csv(lang, store.metamodel),
        "changes/diff.xlsx": d.to_xlsx(lang, store.metamodel),
    }
    params = ViewParams(lang=lang)
    dot = to_dot(budget(store, registry()["diff"].draw(s1, s2, params), params), store.metamodel)  # type: ignore[attr-defined]
    for fmt in ("svg", "pdf"):
        out[f"diagrams/diff.{fmt}"] = render(dot, fmt, pdf_date=end)
    return out


def manifest_bytes(manifest: dict) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    full = dict(body, manifest_sha256=sha256(canonical_json(body).encode("utf-8")))
    return (json.dumps(full, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8")


def _zip(path: Path, files: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            z.writestr(info, files[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)


def build_bundle(
    store: CatalogStore,
    as_of: dt.date | str,
    path: str | Path,
    lang: str = "vi",
    from_day: dt.date | str | None = None,
) -> dict:
    """Write the bundle for ``as_of`` (for the period from ``from_day`` to it, when given) to ``path``; returns
    the manifest."""
    files, manifest = bundle_files(store, as_of, lang, from_day)
    data = manifest_bytes(manifest)
    files[MANIFEST] = data
    _zip(Path(path), files)
    return json.loads(data)


def verify_bundle(path: str | Path, store: CatalogStore | None = None) -> BundleCheck:
    """Check a bundle; the result names the first bad file (in name order)."""
    try:
        z = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return BundleCheck(False, 0, str(path), msg("bundle-not-zip", reason=str(exc)))
    with z:
        names = sorted(z.namelist())
        if MANIFEST not in names:
            return BundleCheck(False, 0, MANIFEST, msg("bundle-file-missing"))
        try:
            raw = z.read(MANIFEST)
        except (zipfile.BadZipFile, OSError, zlib.error) as exc:
            return BundleCheck(False, 0, MANIFEST, msg("bundle-file-unreadable", reason=str(exc)))
        try:
            manifest = json.loads(raw)
            files = manifest["files"]
            ok_manifest = manifest_bytes(manifest) == raw and manifest.get("format") == FORMAT
        except (ValueError, KeyError, TypeError, AttributeError):
            return BundleCheck(False, 0, MANIFEST, msg("bundle-manifest-invalid"))
        if not ok_manifest:
            return BundleCheck(False, 0, MANIFEST, msg("bundle-manifest-edited"))
        checked = 0
        for name in names:
            if name == MANIFEST:
                continue
            if name not in files:
                return BundleCheck(False, checked, name, msg("bundle-file-added"))
            try:
                data = z.read(name)
            except (zipfile.BadZipFile, OSError, zlib.error) as exc:  # the compressed bytes were changed (CRC,
                # or a stream that no longer inflates)
                return BundleCheck(False, checked, name, msg("bundle-file-unreadable", reason=str(exc)))
            if sha256(data) != files[name]["sha256"]:
                return BundleCheck(False, checked, name, msg("bundle-file-changed"))
            checked += 1
        for name in sorted(files):
            if name not in names:
                return BundleCheck(False, checked, name, msg("bundle-file-removed"))
        head = manifest["changelog_head"]
        rows = []
        for line in z.read("changelog.jsonl").decode("utf-8").splitlines():
            e = json.loads(line)
            rows.append(
                (
                    e["seq"],
                    e["time"],
                    e["actor"],
                    e["request_id"],
                    e["op"],
                    e["ref"],
                    e["before"],
                    e["after"],
                    e["prev_hash"],
                    e["hash"],
                    e.get("proposer"),  # none in bundles written before the field existed
                )
            )
        chain = verify_chain(rows)
        if not chain.ok:
            return BundleCheck(False, checked, "changelog.jsonl", chain.message())
        if len(rows) != head["seq"] or (rows and rows[-1][9] != head["hash"]):
            return BundleCheck(False, checked, "changelog.jsonl", msg("bundle-log-short"))
    if store is not None and head["seq"]:
        live = store.changelog(after_seq=head["seq"] - 1, limit=1)
        if not live or live[0].hash != head["hash"]:
            return BundleCheck(
                False,
                checked,
                MANIFEST,
                msg("bundle-head-not-in-catalog", seq=head["seq"]),
            )
    return BundleCheck(True, checked)


def bundle_head(path: str | Path) -> Head:
    """The change-log head (seq, hash, time) the manifest of the bundle at ``path`` names, once the bundle verifies
    on its own (:func:`verify_bundle` without a store); :class:`BundleError` names what is wrong otherwise."""
    check = verify_bundle(path)
    if not check.ok:
        raise BundleError(msg("bundle-cannot-witness", path=str(path), check=check.message()))
    with zipfile.ZipFile(path) as z:
        head = json.loads(z.read(MANIFEST))["changelog_head"]
    return Head(int(head["seq"]), str(head["hash"]), str(head.get("time") or ""), f"the audit bundle {path}")


__all__ = [
    "BundleCheck",
    "BundleError",
    "FORMULA_START",
    "build_bundle",
    "bundle_files",
    "bundle_head",
    "inventory_csv",
    "inventory_xlsx",
    "safe_cell",
    "verify_bundle",
]
