"""Coverage of the business layer: which administrative procedures a system serves online (and at what level),
which business functions no system serves, for the whole catalog or one organisation and its units.

Read from one snapshot (:mod:`catalog.history.snapshot`: as of a date, both clocks). What serves what is the
metamodel's ``serves`` relationship (its sources: systems, platforms, services); a relationship whose ``status`` is
``retired`` serves nothing, and neither does a retired system.

A procedure is *online* when its ``online_level`` is fully or partly online **and** a system in production serves it;
a procedure that says it is online but names no such system is a gap (``online_without_system``), as is one that is
not online at all. A function is *covered* when a system in production serves it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from catalog.errors import FieldError, ValidationFailed
from catalog.history.snapshot import Snapshot
from catalog.i18n import Message, msg, term
from catalog.metamodel import Label, Metamodel
from catalog.sheets import Sheet, write_csv, write_xlsx
from catalog.text import vi_sort_key

SERVES = "serves"
ONLINE_LEVELS = ("full_online", "partial_online")
LIVE = ("production", "retiring")  # a serving system in one of these lifecycle stages serves today
STATES = {
    "online": msg("coverage-state-online"),
    "online_without_system": msg("coverage-state-online-without-system"),
    "not_online": msg("coverage-state-not-online"),
    "covered": msg("coverage-state-covered"),
    "uncovered": msg("coverage-state-uncovered"),
}
COLUMNS = {
    "kind": msg("coverage-col-kind"),
    "ref": msg("coverage-col-ref"),
    "name": msg("coverage-col-name"),
    "owner": msg("coverage-col-owner"),
    "online_level": msg("coverage-col-online-level"),
    "served_by": msg("coverage-col-served-by"),
    "state": msg("coverage-col-state"),
}


@dataclass(frozen=True)
class Server:
    """Something that serves a business element: a system, platform or service."""

    ref: str
    kind: str
    name: dict[str, str]
    lifecycle: str | None

    @property
    def live(self) -> bool:
        return self.lifecycle in LIVE or self.lifecycle is None

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "kind": self.kind, "name": self.name, "lifecycle": self.lifecycle, "live": self.live}


@dataclass(frozen=True)
class Covered:
    """A procedure or function, its owner on the day, and what serves it."""

    ref: str
    kind: str
    name: dict[str, str]
    owner: str | None
    servers: tuple[Server, ...]
    online_level: str | None = None  # procedures only
    authority: str | None = None  # procedures only
    national_code: str | None = None  # procedures only
    owner_name: dict[str, str] = field(default_factory=dict)
    authority_name: dict[str, str] = field(default_factory=dict)

    @property
    def served(self) -> bool:
        """A system (platform, service) that is live serves it."""
        return any(s.live for s in self.servers)

    @property
    def state(self) -> str:
        """``online``, ``online_without_system``, ``not_online`` (procedures); ``covered``, ``uncovered``
        (functions)."""
        if self.kind != "procedure":
            return "covered" if self.served else "uncovered"
        if self.online_level in ONLINE_LEVELS:
            return "online" if self.served else "online_without_system"
        return "not_online"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ref": self.ref,
            "kind": self.kind,
            "name": self.name,
            "owner": self.owner,
            "owner_name": self.owner_name,
            "state": self.state,
            "served_by": [s.to_json() for s in self.servers],
        }
        if self.kind == "procedure":
            out |= {
                "online_level": self.online_level,
                "authority": self.authority,
                "authority_name": self.authority_name,
                "national_code": self.national_code,
            }
        return out


@dataclass
class Coverage:
    day: dt.date
    as_of: dt.date | None
    org: str | None  # None: the whole catalog
    procedures: list[Covered] = field(default_factory=list)
    functions: list[Covered] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        procs, fns = self.procedures, self.functions
        return {
            "procedures": len(procs),
            "online": sum(p.state == "online" for p in procs),
            "full_online": sum(p.state == "online" and p.online_level == "full_online" for p in procs),
            "partial_online": sum(p.state == "online" and p.online_level == "partial_online" for p in procs),
            "online_without_system": sum(p.state == "online_without_system" for p in procs),
            "not_online": sum(p.state == "not_online" for p in procs),
            "functions": len(fns),
            "functions_uncovered": sum(f.state == "uncovered" for f in fns),
        }

    def rows(self, mm: Metamodel, lang: str) -> list[list[str]]:
        """One row per procedure, then per function (by name): what :data:`COLUMNS` names, in ``lang``."""
        level = mm.kinds["procedure"].attribute("online_level") if "procedure" in mm.kinds else None

        def name(x: dict[str, str]) -> str:
            return x.get(lang) or x.get("vi") or ""

        out = []
        for c in sorted(self.procedures, key=lambda c: vi_sort_key(name(c.name))) + sorted(
            self.functions, key=lambda c: vi_sort_key(name(c.name))
        ):
            kind = mm.kinds[c.kind].label.get(lang) if c.kind in mm.kinds else c.kind
            lv = level.value_label(c.online_level, lang) if level is not None and c.online_level else ""
            servers = "; ".join(name(s.name) or s.ref for s in c.servers)
            state = STATES[c.state].text(lang)
            out.append([kind, c.ref, name(c.name), name(c.owner_name) or (c.owner or ""), lv, servers, state])
        return out

    def to_csv(self, mm: Metamodel, lang: str) -> bytes:
        return write_csv([h.text(lang) for h in COLUMNS.values()], self.rows(mm, lang))

    def to_xlsx(self, mm: Metamodel, lang: str) -> bytes:
        sheet = Sheet(msg("coverage-sheet").text(lang), [h.text(lang) for h in COLUMNS.values()], self.rows(mm, lang))
        stamp = dt.datetime.combine(self.day, dt.time())  # the same catalog on the same day: the same bytes
        return write_xlsx([sheet], msg("coverage-title", day=self.day).text(lang), stamp)

    def to_json(self) -> dict[str, Any]:
        return {
            "valid_on": self.day.isoformat(),
            "recorded_at": self.as_of.isoformat() if self.as_of else None,
            "org": self.org,
            "summary": self.summary(),
            "procedures": [p.to_json() for p in self.procedures],
            "functions": [f.to_json() for f in self.functions],
        }


def servers(snap: Snapshot, ref: str) -> tuple[Server, ...]:
    """What serves ``ref`` on the snapshot's day (``serves`` relationships not retired), by reference."""
    out = {}
    for r in snap.incoming.get(ref, []):
        if r.type != SERVES or (r.properties or {}).get("status") == "retired":
            continue
        e = snap.entities.get(r.source)
        if e is not None:
            life = e.attributes.get("lifecycle")
            if life != "retired":
                out[e.ref] = Server(e.ref, e.kind, dict(e.name.model_dump()), life if isinstance(life, str) else None)
    return tuple(out[k] for k in sorted(out))


def serving_columns(mm: Metamodel, kind: str | None) -> dict[str, Label | Message]:
    """The columns a listing of ``kind`` adds (``ioc-catalog list``), by name with their headers: its online level
    (when the kind has an ``online_level``) and what serves each entity, when systems serve that kind; none else."""
    spec = mm.relations.get(SERVES)
    if not kind or spec is None or kind not in spec.targets or kind not in mm.kinds:
        return {}
    out: dict[str, Label | Message] = {}
    level = mm.kinds[kind].attribute("online_level")
    if level is not None:
        out["online_level"] = level.label
    out["served_by"] = msg("list-col-served-by")
    return out


def _name(snap: Snapshot, ref: Any) -> dict[str, str]:
    e = snap.entity(ref) if isinstance(ref, str) else None
    return dict(e.name.model_dump()) if e is not None else {}


def _covered(snap: Snapshot, e: Any) -> Covered:
    a = e.attributes
    return Covered(
        e.ref,
        e.kind,
        dict(e.name.model_dump()),
        snap.owner(e.ref),
        servers(snap, e.ref),
        a.get("online_level") if e.kind == "procedure" else None,
        a.get("authority") if e.kind == "procedure" else None,
        a.get("national_code") if e.kind == "procedure" else None,
        _name(snap, snap.owner(e.ref)),
        _name(snap, a.get("authority")) if e.kind == "procedure" else {},
    )


def coverage(snap: Snapshot, org: str | None = None) -> Coverage:
    """The coverage of every procedure and function on the snapshot's day, or of those ``org`` or one of its units
    owns (a procedure also when it or a unit is its deciding ``authority``). Raises NotFound / ValidationFailed
    when ``org`` is not an organisation on that day."""
    orgs: set[str] | None = None
    if org:
        found = snap.require(org)  # NotFound when it is not in the catalog on that day
        if not snap.metamodel.is_organisation(found.kind):
            spec = snap.metamodel.kinds.get(found.kind)
            said = term(found.kind, spec.label if spec else None)
            raise ValidationFailed([FieldError("org", msg("coverage-org-not-organisation", ref=org, kind=said))])
        orgs = snap.descendants(org)
    out = Coverage(snap.day, snap.as_of, org)
    for ref, e in snap.entities.items():
        if e.kind not in ("procedure", "function"):
            continue
        if orgs is not None and snap.owner(ref) not in orgs and e.attributes.get("authority") not in orgs:
            continue
        (out.procedures if e.kind == "procedure" else out.functions).append(_covered(snap, e))
    return out


__all__ = [
    "COLUMNS",
    "LIVE",
    "STATES",
    "ONLINE_LEVELS",
    "SERVES",
    "Coverage",
    "Covered",
    "Server",
    "coverage",
    "servers",
    "serving_columns",
]
