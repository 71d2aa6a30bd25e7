"""The hash-chained change log, independent of the backend that stores it.

Each entry carries the hash of the previous one; its own hash is the SHA-256 of its canonical JSON (sorted keys,
compact separators, UTF-8). Editing any past entry breaks its hash; deleting one breaks the sequence or the chain.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import orjson

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


def entry_hash(seq: int, time: str, actor: str, request_id: str, op: str, ref: str,
               before: Any, after: Any, prev_hash: str) -> str:
    """SHA-256 of the entry's canonical JSON. ``before``/``after`` are dicts (or None), or their canonical JSON
    strings: the body is assembled in the key order canonical_json would sort to, so both give the same hash."""
    return entry_hasher(actor, request_id)(seq, time, op, ref, before, after, prev_hash)


def entry_hasher(actor: str, request_id: str) -> Callable[[int, str, str, str, Any, Any, str], str]:
    """``entry_hash`` with the actor and request id of one write fixed, as ``(seq, time, op, ref, before, after,
    prev_hash) -> hash``: a bulk load hashes hundreds of thousands of entries of one actor and request."""
    head = f'{{"actor":{_string(actor)},"after":'
    request = f',"request_id":{_string(request_id)},"seq":'
    sha256 = hashlib.sha256

    def hash_entry(seq: int, time: str, op: str, ref: str, before: Any, after: Any, prev_hash: str) -> str:
        body = (f'{head}{as_json(after)},"before":{as_json(before)},"op":{_string(op)},'
                f'"prev_hash":{_string(prev_hash)},"ref":{_string(ref)}{request}{int(seq)},"time":{_string(time)}}}')
        return sha256(body.encode("utf-8")).hexdigest()

    return hash_entry


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    head: str
    bad_seq: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"change log OK: {self.checked} entries, head {self.head}"
        return f"change log BROKEN at entry {self.bad_seq}: {self.reason} ({self.checked} entries checked before it)"


def verify_chain(rows: Iterable[tuple[int, str, str, str, str, str, Any, Any, str, str]]) -> VerifyResult:
    """Check rows (seq, time, actor, request_id, op, ref, before, after, prev_hash, hash) in seq order; before and
    after may be values or their canonical JSON text as stored."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    last_time = ""
    for seq, time, actor, request_id, op, ref, before, after, prev_hash, h in rows:
        if seq != expected_seq:
            return VerifyResult(False, checked, prev, expected_seq,
                                f"entry {expected_seq} is missing (next present entry is {seq})")
        if prev_hash != prev:
            return VerifyResult(False, checked, prev, seq, "previous-hash link does not match the entry before it")
        if entry_hash(seq, time, actor, request_id, op, ref, before, after, prev_hash) != h:
            return VerifyResult(False, checked, prev, seq, "content does not match its hash (entry was edited)")
        if time < last_time:
            return VerifyResult(False, checked, prev, seq, "time goes backwards")
        last_time = time
        prev = h
        expected_seq += 1
        checked += 1
    return VerifyResult(True, checked, prev)
