"""The catalog's entities on a date: the list behind ``ioc-catalog list``, ``GET /api/v1/entities?valid_on=`` and the
"catalog on a date" page.

Two clocks (docs/architecture.md): ``valid_on`` (default: today) keeps what was true in the world that day, each with
its owner that day; ``recorded_at`` (default: the current record) reads what the catalog had recorded by an instant.
With ``include_ended`` the entities that had ended by ``valid_on`` are listed too, each saying how it ended: the
organisation event that named it (merged into another, dissolved...) with the event's legal basis, else "ended".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from catalog.history.snapshot import Snapshot, load_snapshot, parse_day, parse_instant
from catalog.i18n import msg
from catalog.store.base import CatalogStore

STATUS = {
    "valid": msg("list-status-valid"),
    "merged": msg("list-status-merged"),
    "dissolved": msg("list-status-dissolved"),
    "split": msg("list-status-split"),
    "ended": msg("list-status-ended"),
}
ENDED_BY = {"merge": "merged", "absorb": "merged", "dissolve": "dissolved", "split": "split"}


@dataclass(frozen=True)
class Listed:
    ref: str
    kind: str
    name: dict[str, str]
    owner: str | None  # on valid_on
    lifecycle: str | None
    status: str  # "valid", or how it ended: "merged", "dissolved", "split", "ended"
    valid_from: str | None = None
    valid_to: str | None = None
    event: str | None = None
    into: tuple[str, ...] = ()
    legal_basis: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "kind": self.kind,
            "name": self.name,
            "owner": self.owner,
            "lifecycle": self.lifecycle,
            "status": self.status,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
            "event": self.event,
            "into": list(self.into),
            "legal_basis": self.legal_basis,
        }


@dataclass
class Listing:
    valid_on: dt.date
    recorded_at: dt.datetime | dt.date | None
    snapshot: Snapshot
    items: list[Listed] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        r = self.snapshot.revision
        return {
            "valid_on": self.valid_on.isoformat(),
            "recorded_at": None if self.recorded_at is None else self.recorded_at.isoformat(),
            "revision": {"seq": r.seq, "hash": r.hash, "time": r.time},
            "count": len(self.items),
            "items": [x.to_json() for x in self.items],
        }


def _text(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def entities_on(
    store: CatalogStore,
    kind: str | None = None,
    valid_on: dt.date | str | None = None,
    recorded_at: dt.datetime | dt.date | str | None = None,
    include_ended: bool = False,
    owner: str | None = None,
    lifecycle: str | None = None,
    tag: str | None = None,
) -> Listing:
    """The entities valid on ``valid_on`` in the record at ``recorded_at`` (see the module docstring), filtered; in
    reference order. Raises NothingRecorded for a record instant before the change log's first entry."""
    if kind:
        store.metamodel.kind(kind)  # an unknown kind is refused, naming the known ones
    rec = parse_instant(recorded_at, "recorded_at")
    day = parse_day(valid_on, "valid_on") or store.clock().date()
    snap = load_snapshot(store, rec, day)
    events: dict[str, Any] = {}
    if include_ended:
        for ev in store.list_events():
            for ref in ev.from_:
                if ref not in ev.to and ev.type in ENDED_BY:
                    events.setdefault(ref, ev)
    out = Listing(day, rec, snap)
    pool = snap.all_entities if include_ended else snap.entities
    for ref, e in sorted(pool.items()):
        if kind and e.kind != kind:
            continue
        valid = ref in snap.entities
        if not valid and not (e.valid_to is not None and e.valid_to <= day):
            continue  # not begun yet on that day
        who = e.owner_on(day) if valid else e.owner_on(e.valid_to - dt.timedelta(days=1))
        if owner and who != owner:
            continue
        life = e.attributes.get("lifecycle")
        if lifecycle and life != lifecycle:
            continue
        if tag and tag not in e.tags:
            continue
        ended_by = None if valid else events.get(ref)
        out.items.append(
            Listed(
                ref,
                e.kind,
                dict(e.name.model_dump()),
                who,
                life if isinstance(life, str) else None,
                "valid" if valid else (ENDED_BY[ended_by.type] if ended_by is not None else "ended"),
                _text(e.valid_from),
                _text(e.valid_to),
                ended_by.id if ended_by is not None else None,
                tuple(ended_by.to) if ended_by is not None else (),
                ended_by.legal_basis if ended_by is not None else "",
            )
        )
    return out


__all__ = ["STATUS", "Listed", "Listing", "entities_on"]
