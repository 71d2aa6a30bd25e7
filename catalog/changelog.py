"""The hash-chained change log, independent of the backend that stores it.

Each entry carries the hash of the previous one; its own hash is the SHA-256 of its canonical JSON (sorted keys,
compact separators, UTF-8). Editing any past entry breaks its hash; deleting one breaks the sequence or the chain.

Nothing inside one database can prove its own end to someone who can rewrite it: cutting entries off the end leaves a
shorter chain that still verifies. So the head (seq, hash) is witnessed outside the store: :class:`Head` is one
witnessed head, :class:`HeadWitness` appends each committed head to a file (the ``IOC_CATALOG_HEAD_WITNESS``
setting), :func:`read_heads` reads such a file back (or the line ``verify-log --print-head`` prints), and
:func:`verify_chain` checks that the log still holds every witnessed head. Because each hash covers every entry before
it, a log that holds the witnessed hash at that seq holds exactly the entries the witness saw up to there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from catalog.i18n import Message, msg

GENESIS = "0" * 64


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
_string = json.encoder.encode_basestring  # the C encoder of a JSON string, as json.dumps(s, ensure_ascii=False)
_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# orjson writes what _CANONICAL writes (same string escapes, same separators, keys sorted by code point) except two
# float spellings (measured over two million random doubles): a one-digit negative exponent (1e-7 where Python writes
# 1e-07) and decimals below 1e-4 (0.00001 where Python writes 1e-05). Output that may hold either goes through
# _CANONICAL again, so the bytes never depend on which encoder produced them; the catalog's own content has whole
# numbers only, and text that merely looks like one ("e-1" in a name) only costs the slower path.
_SHORT_EXPONENT = re.compile(rb"[0-9]e-[0-9](?![0-9])")


def canonical_json(value: Any) -> str:
    """Sorted keys, compact separators, UTF-8 text: the one serialisation that hashes are computed over.

    Byte for byte what ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` writes
    (tested), except NaN and infinities, which are not JSON and are written as ``null``; made by orjson (about 8x
    faster: every fact and log entry a bulk load writes passes through here). Values orjson refuses (integers beyond
    64 bits, non-string keys, lone surrogates, unknown types) and output with the float spellings above are written
    by the standard library instead."""
    try:
        out = orjson.dumps(value, option=_SORTED)
    except TypeError:
        return _CANONICAL.encode(value)
    if b"0.0000" in out or (b"e-" in out and _SHORT_EXPONENT.search(out)):
        return _CANONICAL.encode(value)
    return out.decode()


def as_json(value: Any) -> str:
    """A before/after value as canonical JSON; a string is taken to be canonical JSON already (stores keep it)."""
    if value is None:
        return "null"
    return value if isinstance(value, str) else _CANONICAL.encode(value)


def entry_hash(
    seq: int,
    time: str,
    actor: str,
    request_id: str,
    op: str,
    ref: str,
    before: Any,
    after: Any,
    prev_hash: str,
    proposer: str | None = None,
) -> str:
    """SHA-256 of the entry's canonical JSON. ``before``/``after`` are dicts (or None), or their canonical JSON
    strings: the body is assembled in the key order canonical_json would sort to, so both give the same hash.

    ``proposer`` (who proposed a change an approver applied: an approved draft's submitter) is part of the body only
    when the entry has one, so entries written before it existed, which have none, keep their hash."""
    return entry_hasher(actor, request_id, proposer)(seq, time, op, ref, before, after, prev_hash)


def entry_hasher(
    actor: str, request_id: str, proposer: str | None = None
) -> Callable[[int, str, str, str, Any, Any, str], str]:
    """``entry_hash`` with the actor, request id and proposer of one write fixed, as ``(seq, time, op, ref, before,
    after, prev_hash) -> hash``: a bulk load hashes hundreds of thousands of entries of one actor and request."""
    head = f'{{"actor":{_string(actor)},"after":'
    proposed = f',"proposer":{_string(proposer)}' if proposer else ""
    request = f',"request_id":{_string(request_id)},"seq":'
    sha256 = hashlib.sha256

    def hash_entry(seq: int, time: str, op: str, ref: str, before: Any, after: Any, prev_hash: str) -> str:
        body = (
            f'{head}{as_json(after)},"before":{as_json(before)},"op":{_string(op)},'
            f'"prev_hash":{_string(prev_hash)}{proposed},"ref":{_string(ref)}{request}{int(seq)},'
            f'"time":{_string(time)}}}'
        )
        return sha256(body.encode("utf-8")).hexdigest()

    return hash_entry


@dataclass(frozen=True)
class Head:
    """A change-log head: the last entry's seq and hash (and time). ``source`` says where a witnessed head was read
    (a file and line), for messages; it is not part of the head."""

    seq: int
    hash: str
    time: str = ""
    source: str = field(default="", compare=False)

    def line(self) -> str:
        """The head as one line of canonical JSON (what a witness file holds and ``--print-head`` prints)."""
        return canonical_json({"seq": self.seq, "hash": self.hash, "time": self.time}) + "\n"


_HASH = re.compile(r"^[0-9a-f]{64}$")


def parse_head(text: str, source: str = "") -> Head:
    """One witnessed head from its line (``{"seq": N, "hash": "<64 hex>", "time": "..."}``); ValueError if it is not
    one."""
    try:
        value = json.loads(text)
    except ValueError:
        raise ValueError("not JSON") from None
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    seq, h = value.get("seq"), value.get("hash")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError("'seq' is not a whole number >= 0")
    if not isinstance(h, str) or not _HASH.match(h):
        raise ValueError("'hash' is not 64 lower-case hex digits")
    time = value.get("time")
    return Head(seq, h, time if isinstance(time, str) else "", source)


def read_heads(path: str | Path, label: str | None = None) -> list[Head]:
    """Every head a witness file holds, one per non-blank line, in file order (concurrent writers may append them a
    little out of seq order). A line that is not a head raises ValueError naming the file and line: a damaged
    witness is reported, never skipped."""
    name = label or str(path)
    heads = []
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                text = raw.decode("utf-8").strip()
                if text:
                    heads.append(parse_head(text, f"{name}:{number}"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise ValueError(f"{name} line {number} is not a change-log head ({exc})") from None
    return heads


witness_log = logging.getLogger("ioc_catalog.witness")


class HeadWitness:
    """Appends every committed head to a file outside the store (``IOC_CATALOG_HEAD_WITNESS``), one line each.

    Stores call :meth:`append` once per committed transaction that moved the head (a bulk load of any size is one
    line). Each line goes out in one ``write`` on a descriptor opened with ``O_APPEND``, so lines of concurrent
    writers (threads, processes) never interleave; they may land slightly out of seq order, which readers accept. The
    line reaches the operating system at once (no buffer in this process) but is not fsync'ed. A failed append never
    undoes or fails the write, which is already committed: it is logged (logger ``ioc_catalog.witness``, level
    ERROR, with the head it could not record) and the next append tries again."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def append(self, head: Head) -> bool:
        """Record ``head``; False (and an ERROR log record) when it could not be written."""
        data = head.line().encode("utf-8")
        with self._lock:
            try:
                if self._fd is None or self._pid != os.getpid():  # a forked child opens its own descriptor
                    self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
                    self._pid = os.getpid()
                if os.write(self._fd, data) != len(data):
                    raise OSError("short write")
                return True
            except OSError as exc:
                self._close()
                witness_log.error(
                    "could not append change-log head #%d %s to the head witness %s: %s (the write "
                    "itself is committed)",
                    head.seq,
                    head.hash,
                    self.path,
                    exc,
                )
                return False

    def _close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            try:
                os.close(self._fd)
            except OSError:
                pass
        self._fd = None

    def close(self) -> None:
        with self._lock:
            self._close()


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    head: str
    bad_seq: int | None = None
    reason: str = ""  # a Message: why the check failed
    witnessed: int = 0  # the highest witnessed head the log was checked against (0: none)

    def message(self) -> Message:
        """The outcome in words, in any language (``.text(lang)``); ``str()`` of it is the English."""
        if self.ok:
            if self.witnessed:
                return msg("log-ok-witnessed", n=self.checked, head=self.head, witnessed=self.witnessed)
            return msg("log-ok", n=self.checked, head=self.head)
        if self.bad_seq is None:
            return msg("log-not-verified", reason=self.reason)
        return msg("log-broken", seq=self.bad_seq, reason=self.reason, n=self.checked)

    def __str__(self) -> str:
        return str(self.message())


def _missing(first: int, last: int, end: int, source: str) -> Message:
    if first == last:
        return msg("log-entry-missing-witnessed", seq=first, end=end, source=source, witnessed=last)
    return msg("log-entries-missing-witnessed", first=first, last=last, end=end, source=source, witnessed=last)


def verify_chain(rows: Iterable[tuple], witness: Iterable[Head] = ()) -> VerifyResult:
    """Check rows (seq, time, actor, request_id, op, ref, before, after, prev_hash, hash[, proposer]) in seq order;
    before and after may be values or their canonical JSON text as stored; a missing or empty proposer is none.

    ``witness``: heads seen outside the store (a witness file, an audit bundle, ``--print-head``). The log must
    still hold each one: the same hash at that seq. A log that ends before a witnessed head fails naming the missing
    entries ("entries 951-1000 are missing: the log ends at 950 but ... saw 1000"); one that holds another hash at a
    witnessed seq fails naming that entry (the log was cut back and written again, or replaced by another)."""
    heads = sorted((h for h in witness if h.seq > 0), key=lambda h: h.seq)
    next_head = 0
    prev = GENESIS
    expected_seq = 1
    checked = 0
    last_time = ""
    matched: Head | None = None
    for row in rows:
        seq, time, actor, request_id, op, ref, before, after, prev_hash, h = row[:10]
        proposer = row[10] if len(row) > 10 else None
        if seq != expected_seq:
            return VerifyResult(
                False, checked, prev, expected_seq, msg("log-entry-missing", seq=expected_seq, next=seq)
            )
        if prev_hash != prev:
            return VerifyResult(False, checked, prev, seq, msg("log-link-mismatch"))
        if entry_hash(seq, time, actor, request_id, op, ref, before, after, prev_hash, proposer) != h:
            return VerifyResult(False, checked, prev, seq, msg("log-content-mismatch"))
        if time < last_time:
            return VerifyResult(False, checked, prev, seq, msg("log-time-backwards"))
        while next_head < len(heads) and heads[next_head].seq == seq:
            w = heads[next_head]
            if w.hash != h:
                said = {"seq": seq, "source": w.source or msg("log-the-witness"), "log": h[:16], "seen": w.hash[:16]}
                reason = (
                    msg("log-rewritten-since", since=matched.seq, **said) if matched else msg("log-rewritten", **said)
                )
                return VerifyResult(False, checked, prev, seq, reason)
            matched = w
            next_head += 1
        last_time = time
        prev = h
        expected_seq += 1
        checked += 1
    if next_head < len(heads):
        w = heads[-1]
        return VerifyResult(
            False,
            checked,
            prev,
            checked + 1,
            _missing(checked + 1, w.seq, checked, w.source or msg("log-the-witness")),
        )
    return VerifyResult(True, checked, prev, witnessed=matched.seq if matched else 0)
