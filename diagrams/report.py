"""The province's current-state report: the first part of a provincial digital architecture document (Guidance
2943/CĐSQG-CNCPS, 2025) as a Word document, with its tables as an annex workbook.

``current_state(store, province, valid_on, lang, since, recorded_at)`` reads the catalog once (both clocks: the world
on ``valid_on``, default today, in the record at ``recorded_at``, default the current one; catalog.history) and
returns a :class:`CurrentState`: sections of headings, sentences, tables and diagrams, every figure computed from that
one reading. ``to_docx()`` writes it with python-docx (Times New Roman, the administrative standard; dates and numbers
as the report's language writes them), ``to_xlsx()`` writes every table of it as one sheet of the annex
(catalog.sheets.write_xlsx: cells safe from formula injection).

What is in scope: the organisations whose parent chain leads to ``province`` on that day, what they own on that day,
and the unowned entities (capabilities) related to those. Sections, in order:

1. summary: counts per kind and per framework layer;
2. the four layers of the national digital architecture framework (Decision 3090/QĐ-BKHCN, 2025; the layer of each
   kind is catalog.metamodel.framework_layer), one inventory table per kind present in the layer (owner, lifecycle,
   hosting (the attribute, else what it is hosted on), security level and its approval, personal data, data class
   and sharing), all as labels;
3. the integration platforms in scope, and the connections to NDXP and the national databases: connected or not,
   how many of the province's systems, and via what (the shortest dependency path of catalog.analysis, in either
   direction, the entities on it named);
4. the IOC integration view and the shared-database view (the province's shared database with the most users,
   catalog.analysis.database_consumers) as PNG (diagrams/: Noto fonts with Vietnamese glyphs, the diagrams' stamp);
5. compliance findings (catalog.compliance on the record, FrozenStore) per rule and per organisation, with the
   completeness of each organisation in scope;
6. the organisation events of the period ``since`` .. ``valid_on`` (default: from 1 January of the year before) that
   touch the province or organisations that were merged or absorbed into it, with their legal basis.

The document carries the diagrams' stamp (the day, the record and the change-log head, diagrams.dot.stamp_line) and
its core properties are dated on the report's day, its package re-packed with fixed entry times: same catalog and
options, same bytes (the embedded PNGs are Graphviz's, deterministic for one Graphviz version).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from catalog.analysis import database_consumers, dependency_graph
from catalog.compliance import SEVERITIES, check, load_rules
from catalog.errors import FieldError, ValidationFailed
from catalog.history.frozen import FrozenStore
from catalog.history.snapshot import Snapshot, parse_day, recorded_graph, recorded_revision, snapshot_from
from catalog.i18n import format_number, msg, msg_plural, text
from catalog.metamodel import EVENT_LABELS, FRAMEWORK_LAYERS, VALUE_LABELS, Metamodel, framework_layer
from catalog.model import Entity
from catalog.sheets import Sheet, repack, write_xlsx
from catalog.store.base import CatalogStore, Subgraph
from diagrams.dot import stamp_line, to_dot
from diagrams.registry import ViewParams, build
from diagrams.render import render

LANGS = ("vi", "en")
EARLIEST = dt.date(1900, 1, 1)  # no report about a day before this (the compliance checks count back from the day)
FONT = "Times New Roman"  # Decree 30/2020/NĐ-CP; fontconfig maps it to a font with Vietnamese glyphs (Noto Serif)
DPI = 150  # the diagrams' resolution in the document (readers zoom in)
LANDSCAPE_CM, MAX_HEIGHT_CM = 25.7, 14.0  # a diagram on a landscape A4 page (2 cm margins), room for its caption
PORTRAIT_HEIGHT_CM = 22.0  # a tall diagram on a portrait page, room for the heading and caption
TABLE_CM = 17.0  # width of a table
CHAR_CM, PAD_CM = 0.19, 0.3  # a character of the tables' 9 pt text, and a cell's margins
NUMBER_CM = 1.2  # the number column ("STT" in bold on one line)
VIA_SHOWN = 4  # names listed in the "via" column of a national connection
INVENTORY_KINDS_FIRST = ("system", "database", "platform")  # the inventory tables the framework asks for, first


@dataclass
class Table:
    key: str  # stable name: the annex sheet's and the tests'
    title: str
    header: list[str]
    rows: list[list[Any]]


@dataclass
class Figure:
    key: str  # the view's name
    caption: str
    png: bytes


@dataclass
class Section:
    key: str
    heading: str
    level: int = 1
    blocks: list[str | Table | Figure] = field(default_factory=list)  # in reading order

    @property
    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    @property
    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]


@dataclass
class CurrentState:
    province: str
    province_name: str
    day: dt.date
    since: dt.date
    lang: str
    title: str
    stamp: str
    revision: tuple[int, str]
    sections: list[Section]
    counts: dict[str, int]  # kind -> entities in scope on the day
    layer_counts: dict[str, int]  # framework layer -> entities in scope

    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]

    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures]

    def to_docx(self) -> bytes:
        return _docx(self)

    def to_xlsx(self) -> bytes:
        """Every table of the report, one sheet each (the annex); the workbook dated on the report's day."""
        sheets = [Sheet(t.key[:31], t.header, t.rows) for t in self.tables()]
        return write_xlsx(sheets, self.title, dt.datetime.combine(self.day, dt.time()))


# --- reading --------------------------------------------------------------------------------------------------------


def say(code: str, lang: str, **params: Any) -> str:
    return text(msg(code, **params), lang)


def _header(lang: str, *columns: Any) -> list[str]:
    """A table's column titles in ``lang`` (``columns``: message codes as ``msg(...)``)."""
    return [text(c, lang) for c in columns]


def _numbered(counter: list[int], key: str, title: str, header: list[str], rows: list[list[Any]], lang: str) -> Table:
    """The report's next numbered table ("Bảng 3. ``title``"): ``counter`` holds the number of the last one."""
    counter[0] += 1
    return Table(key, say("report-table-caption", lang, number=counter[0], title=title), header, rows)


def _value(mm: Metamodel, kind: str, name: str, value: Any, lang: str) -> str:
    if value in (None, "", []):
        return ""
    spec = mm.kinds[kind].attribute(name) if kind in mm.kinds else None
    return spec.value_label(value, lang) if spec is not None else str(value)


def _name(snap: Snapshot, ref: str | None, lang: str) -> str:
    e = snap.entity(ref) if ref else None
    return e.name.get(lang) if e is not None else (ref or "")


def _scope(snap: Snapshot, province: str) -> tuple[set[str], list[Entity]]:
    """The province's organisations on the day and every entity in scope (module docstring)."""
    orgs = snap.descendants(province)
    mm = snap.metamodel
    inside: dict[str, Entity] = {}
    for e in snap.entities.values():
        if mm.is_organisation(e.kind):
            if e.ref in orgs:
                inside[e.ref] = e
        elif mm.owned(e.kind) and e.owner_on(snap.day) in orgs:
            inside[e.ref] = e
    for e in snap.entities.values():  # unowned kinds (capabilities): when related to what is in scope
        if not mm.is_organisation(e.kind) and not mm.owned(e.kind) and e.ref not in inside:
            if any((r.target if r.source == e.ref else r.source) in inside for r in snap.touching(e.ref)):
                inside[e.ref] = e
    return orgs, sorted(inside.values(), key=lambda e: (e.kind, e.name.get("vi"), e.ref))


def _hosting(snap: Snapshot, e: Entity, lang: str) -> str:
    said = e.attributes.get("hosting")
    if said:
        return str(said)
    where = sorted({_name(snap, r.target, lang) for r in snap.outgoing.get(e.ref, []) if r.type == "hosted_on"})
    return ", ".join(where)


def _approval(mm: Metamodel, e: Entity, lang: str) -> str:
    status = _value(mm, e.kind, "security_status", e.attributes.get("security_status"), lang)
    decision = e.attributes.get("security_decision") or ""
    when = e.attributes.get("security_decision_date")
    parts = [p for p in (status, str(decision)) if p]
    if when:
        parts.append(say("report-dated", lang, day=dt.date.fromisoformat(str(when)[:10])))
    return ", ".join(parts)


def _data_class(mm: Metamodel, e: Entity, lang: str) -> str:
    parts = [_value(mm, e.kind, a, e.attributes.get(a), lang) for a in ("data_class", "sharing")]
    return ", ".join(p for p in parts if p)


def _inventory_header(lang: str) -> list[str]:
    codes = (
        msg("report-col-no"),
        msg("report-col-name"),
        msg("report-col-owner"),
        msg("report-col-lifecycle"),
        msg("report-col-hosting"),
        msg("report-col-security-level"),
        msg("report-col-approval"),
        msg("report-col-personal-data"),
        msg("report-col-data-class"),
    )
    return [text(c, lang) for c in codes]


def _inventory_rows(snap: Snapshot, entities: list[Entity], lang: str) -> list[list[Any]]:
    mm = snap.metamodel
    rows = []
    for i, e in enumerate(entities, 1):
        level = e.attributes.get("security_level")
        rows.append(
            [
                i,
                e.name.get(lang),
                _name(snap, e.owner_on(snap.day), lang) if mm.owned(e.kind) else "",
                _value(mm, e.kind, "lifecycle", e.attributes.get("lifecycle"), lang),
                _hosting(snap, e, lang),
                level if level is not None else "",
                _approval(mm, e, lang),
                _value(mm, e.kind, "personal_data", e.attributes.get("personal_data"), lang),
                _data_class(mm, e, lang),
            ]
        )
    return rows


def _layer_sections(snap: Snapshot, entities: list[Entity], lang: str, counter: list[int]) -> list[Section]:
    mm = snap.metamodel
    by_layer: dict[str, dict[str, list[Entity]]] = {layer: defaultdict(list) for layer in FRAMEWORK_LAYERS}
    for e in entities:
        layer = framework_layer(e.kind, e.attributes)
        if layer is not None:
            by_layer[layer][e.kind].append(e)
    out = [Section("layers", say("report-h-layers", lang))]
    for number, (layer, label) in enumerate(FRAMEWORK_LAYERS.items(), 1):
        kinds = by_layer[layer]
        s = Section(f"layer-{layer}", say("report-h-layer", lang, number=number, layer=label.get(lang)), 2)
        total = sum(len(v) for v in kinds.values())
        if not total:
            s.blocks.append(say("report-layer-empty", lang, day=snap.day))
        else:
            parts = ", ".join(
                f"{format_number(len(kinds[k]), lang)} {mm.kinds[k].plural.get(lang).lower()}"
                for k in _kind_order(kinds)
            )
            s.blocks.append(
                text(msg_plural("report-layer-count", "report-layer-count#plural", total, parts=parts), lang)
            )
        for kind in _kind_order(kinds):
            title = f"{mm.kinds[kind].plural.get(lang)} ({format_number(len(kinds[kind]), lang)})"
            rows = _inventory_rows(snap, kinds[kind], lang)
            s.blocks.append(_numbered(counter, f"{layer}-{kind}", title, _inventory_header(lang), rows, lang))
        out.append(s)
    return out


def _kind_order(kinds: dict[str, list[Entity]]) -> list[str]:
    first = [k for k in INVENTORY_KINDS_FIRST if kinds.get(k)]
    return first + sorted(k for k in kinds if kinds[k] and k not in first)


def _connections(snap: Snapshot, frozen: FrozenStore, entities: list[Entity], lang: str, counter: list[int]) -> Section:
    mm = snap.metamodel
    s = Section("integration", say("report-h-integration", lang))
    platforms = [e for e in entities if e.kind == "platform" and e.attributes.get("platform_type") == "integration"]
    published: dict[str, set[str]] = defaultdict(set)
    for r in snap.relationships:
        if r.type == "published_on":
            published[r.target].add(r.source)
    users: dict[str, set[str]] = defaultdict(set)  # platform -> systems related to a service published on it
    for platform, services in published.items():
        for svc in services:
            for r in snap.touching(svc):
                other = r.target if r.source == svc else r.source
                if r.type != "published_on" and other in snap.entities and snap.entities[other].kind == "system":
                    users[platform].add(other)
    s.blocks.append(
        text(
            msg_plural(
                "report-integration-platforms",
                "report-integration-platforms#plural",
                len(platforms),
                names=", ".join(p.name.get(lang) for p in platforms) or "—",
            ),
            lang,
        )
    )
    if platforms:
        header = _header(
            lang,
            msg("report-col-no"),
            msg("report-col-name"),
            msg("report-col-owner"),
            msg("report-col-subtype"),
            msg("report-col-lifecycle"),
            msg("report-col-services-published"),
            msg("report-col-systems-using"),
        )
        rows = [
            [
                i,
                p.name.get(lang),
                _name(snap, p.owner_on(snap.day), lang),
                _value(mm, "platform", "platform_subtype", p.attributes.get("platform_subtype"), lang),
                _value(mm, "platform", "lifecycle", p.attributes.get("lifecycle"), lang),
                len(published.get(p.ref, ())),
                len(users.get(p.ref, ())),
            ]
            for i, p in enumerate(platforms, 1)
        ]
        s.blocks.append(
            _numbered(counter, "integration-platforms", say("report-t-integration", lang), header, rows, lang)
        )
    # the national connection points: NDXP platforms and national databases, wherever they are owned
    targets = sorted(
        (
            e
            for e in snap.entities.values()
            if (e.kind == "platform" and e.attributes.get("platform_subtype") == "ndxp")
            or (e.kind == "database" and e.attributes.get("scope") == "national")
        ),
        key=lambda e: (e.kind != "platform", e.name.get("vi"), e.ref),
    )
    dg = dependency_graph(frozen)
    systems = sorted(e.ref for e in entities if e.kind == "system")
    rows = []
    connected_targets = 0
    for i, t in enumerate(targets, 1):
        reach: dict[str, list[str]] = {}
        if t.ref in dg:
            towards = nx.single_source_shortest_path(dg.reverse(copy=False), t.ref)  # who depends on t
            away = nx.single_source_shortest_path(dg, t.ref)  # what t depends on
            for sys_ref in systems:
                p = towards.get(sys_ref) or away.get(sys_ref)
                if p and sys_ref != t.ref:
                    reach[sys_ref] = p
        via: dict[str, int] = defaultdict(int)  # what the paths go through, most travelled first
        for p in reach.values():
            for ref in p[1:-1]:
                via[ref] += 1
        shown = sorted(via, key=lambda r: (-via[r], _name(snap, r, lang)))[:VIA_SHOWN]
        direct = not via and reach
        connected_targets += bool(reach)
        rows.append(
            [
                i,
                t.name.get(lang),
                mm.kinds[t.kind].label.get(lang),
                _name(snap, t.owner_on(snap.day), lang),
                say("report-yes", lang) if reach else say("report-no", lang),
                len(reach),
                ", ".join(_name(snap, r, lang) for r in shown)
                if shown
                else (say("report-direct", lang) if direct else ""),
            ]
        )
    s.blocks.append(
        say("report-national-connected", lang, connected=connected_targets, total=len(targets), systems=len(systems))
    )
    header = _header(
        lang,
        msg("report-col-no"),
        msg("report-col-target"),
        msg("report-col-kind"),
        msg("report-col-owner"),
        msg("report-col-connected"),
        msg("report-col-province-systems"),
        msg("report-col-via"),
    )
    s.blocks.append(_numbered(counter, "national-connections", say("report-t-national", lang), header, rows, lang))
    return s


def _figures(store: CatalogStore, snap: Snapshot, entities: list[Entity], as_of: dt.date | None, lang: str) -> Section:
    s = Section("diagrams", say("report-h-diagrams", lang))
    # the province's city IOC that the most sources feed (after a merger the absorbed province's IOC is the city's too)
    iocs = sorted(
        (e for e in entities if e.kind == "platform" and e.attributes.get("platform_subtype") == "city_ioc"),
        key=lambda e: (-sum(1 for r in snap.incoming.get(e.ref, []) if r.type == "feeds"), e.ref),
    )
    day = snap.day
    number = 0
    if iocs:
        number += 1
        params = ViewParams(ref=iocs[0].ref, as_of=as_of, valid_on=day, lang=lang)
        dot = to_dot(build(store, "ioc", params), store.metamodel)
        title = say("report-figure", lang, number=number, title=say("report-f-ioc", lang))
        s.blocks.append(Figure("ioc", title, render(dot, "png", dpi=DPI)))
    else:
        s.blocks.append(say("report-ioc-none", lang, day=day))
    shared = [e for e in entities if e.kind == "database" and e.attributes.get("scope") == "shared"]
    ranked = sorted(
        ((len(database_consumers(snap.metamodel, e.ref, snap.touching).users), e.ref, e) for e in shared),
        key=lambda x: (-x[0], x[1]),
    )
    if ranked:
        n, ref, db = ranked[0]
        dot = to_dot(
            build(store, "shared-db", ViewParams(ref=ref, as_of=as_of, valid_on=day, lang=lang)), store.metamodel
        )
        s.blocks.append(
            Figure(
                "shared-db",
                say(
                    "report-figure",
                    lang,
                    number=number + 1,
                    title=say("report-f-shared-db", lang, name=db.name.get(lang)),
                ),
                render(dot, "png", dpi=DPI),
            )
        )
        s.blocks.append(say("report-shared-db-chosen", lang, name=db.name.get(lang), n=n, total=len(shared)))
    else:
        s.blocks.append(say("report-shared-db-none", lang, day=day))
    return s


def _compliance(
    record_store: FrozenStore, snap: Snapshot, entities: list[Entity], orgs: set[str], lang: str, counter: list[int]
) -> Section:
    s = Section("compliance", say("report-h-compliance", lang))
    report = check(record_store, today=snap.day)
    inside = {e.ref for e in entities}
    findings = [f for f in report.findings if f.ref in inside]
    by_sev = {sev: sum(1 for f in findings if f.severity == sev) for sev in SEVERITIES}
    scores = [v for org, v in report.completeness.items() if org in orgs]
    scored = sum(v.entities for v in scores)
    mean = round(sum(v.score * v.entities for v in scores) / scored, 1) if scored else 100.0
    s.blocks.append(
        text(
            msg_plural(
                "report-compliance-summary",
                "report-compliance-summary#plural",
                len(findings),
                errors=by_sev["error"],
                warnings=by_sev["warning"],
                infos=by_sev["info"],
                orgs=len(scores),
                score=format_number(mean, lang),
            ),
            lang,
        )
    )
    rules = {r.code: r for r in load_rules()}
    per_rule: dict[str, int] = defaultdict(int)
    for f in findings:
        per_rule[f.rule] += 1
    header = _header(lang, msg("report-col-rule"), msg("report-col-severity"), msg("report-col-findings"))
    rows = [
        [
            re.sub(r"\{[^{}]*\}", "…", rules[code].message.get(lang)) if code in rules else code,  # as /compliance
            VALUE_LABELS[rules[code].severity].get(lang) if code in rules else "",
            per_rule[code],
        ]
        for code in sorted(per_rule, key=lambda c: (SEVERITIES.index(rules[c].severity) if c in rules else 9, c))
    ]
    s.blocks.append(_numbered(counter, "findings-by-rule", say("report-t-rules", lang), header, rows, lang))
    header = _header(
        lang,
        msg("report-col-no"),
        msg("report-col-org"),
        msg("report-col-entities"),
        msg("report-col-completeness"),
        msg("report-col-errors"),
        msg("report-col-warnings"),
        msg("report-col-infos"),
    )
    ordered = sorted(scores, key=lambda v: (v.score, _name(snap, v.org, "vi")))
    rows = [
        [i, _name(snap, v.org, lang), v.entities, format_number(v.score, lang)]
        + [v.findings.get(sev, 0) for sev in SEVERITIES]
        for i, v in enumerate(ordered, 1)
    ]
    s.blocks.append(_numbered(counter, "completeness", say("report-t-completeness", lang), header, rows, lang))
    header = _header(
        lang, msg("report-col-no"), msg("report-col-severity"), msg("report-col-item"), msg("report-col-message")
    )
    ordered_f = sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), f.rule, _name(snap, f.ref, "vi")))
    rows = [
        [
            i,
            VALUE_LABELS[f.severity].get(lang),
            _name(snap, f.ref, lang),
            f.message_en if lang == "en" else f.message_vi,
        ]
        for i, f in enumerate(ordered_f, 1)
    ]
    s.blocks.append(_numbered(counter, "findings", say("report-t-findings", lang), header, rows, lang))
    return s


def _former_members(store: CatalogStore, snap: Snapshot, orgs: set[str], until: dt.date) -> set[str]:
    """The province's organisations and, transitively, those merged or absorbed into them (with their units)."""
    children: dict[str, set[str]] = defaultdict(set)
    for e in snap.all_entities.values():
        parent = e.attributes.get("parent") if snap.metamodel.is_organisation(e.kind) else None
        if parent:
            children[parent].add(e.ref)
    members = set(orgs)
    events = [ev for ev in store.list_events() if ev.date <= until]
    grew = True
    while grew:
        grew = False
        for ev in events:
            if ev.type in ("merge", "absorb") and members.intersection(ev.to):
                todo = [o for o in ev.from_ if o not in members]
                while todo:
                    o = todo.pop()
                    if o not in members:
                        members.add(o)
                        grew = True
                        todo.extend(children.get(o, ()))
    return members


def _org_changes(
    store: CatalogStore, snap: Snapshot, orgs: set[str], since: dt.date, lang: str, counter: list[int]
) -> Section:
    s = Section("org-changes", say("report-h-org-changes", lang, since=since, day=snap.day))
    members = _former_members(store, snap, orgs, snap.day)
    events = sorted(
        (
            ev
            for ev in store.list_events()
            if since <= ev.date <= snap.day and members.intersection([*ev.from_, *ev.to, *(t.to for t in ev.transfers)])
        ),
        key=lambda ev: (ev.date, ev.id),
    )
    moved = sum(len(ev.transfers) for ev in events)
    s.blocks.append(
        text(
            msg_plural("report-org-changes", "report-org-changes#plural", len(events), since=since, day=snap.day), lang
        )
    )
    if events:
        header = _header(
            lang,
            msg("report-col-no"),
            msg("report-col-date"),
            msg("report-col-event"),
            msg("report-col-from"),
            msg("report-col-to"),
            msg("report-col-basis"),
        )
        rows = [
            [
                i,
                ev.date,
                EVENT_LABELS[ev.type].get(lang),
                ", ".join(_name(snap, o, lang) for o in ev.from_),
                ", ".join(_name(snap, o, lang) for o in ev.to)
                or (ev.new_name.get(lang) if ev.new_name is not None else ""),
                ev.legal_basis,
            ]
            for i, ev in enumerate(events, 1)
        ]
        s.blocks.append(_numbered(counter, "org-changes", say("report-t-org-changes", lang), header, rows, lang))
    if moved:
        s.blocks.append(say("report-org-transfers", lang, n=moved))
    return s


def current_state(
    store: CatalogStore,
    province: str,
    valid_on: dt.date | str | None = None,
    lang: str = "vi",
    since: dt.date | str | None = None,
    recorded_at: dt.date | str | None = None,
) -> CurrentState:
    """Read the catalog and compose the report (see the module docstring). Bad input raises ValidationFailed naming
    the field: an unknown language, a date that is not YYYY-MM-DD, a period that ends before it starts, a province
    that is not an organisation existing on the day."""
    errors: list[FieldError] = []
    if lang not in LANGS:
        errors.append(FieldError("lang", msg("value-one-of", allowed=", ".join(LANGS))))
    day = parse_day(valid_on, "valid_on") or store.clock().date()
    as_of = parse_day(recorded_at, "recorded_at")
    start = parse_day(since, "since") or dt.date(max(day.year - 1, dt.MINYEAR), 1, 1)
    for name, when in (("valid_on", day), ("since", start), ("recorded_at", as_of)):
        if when is not None and when < EARLIEST:  # the checks count years back from the day: keep them in range
            errors.append(FieldError(name, msg("value-at-least", minimum=EARLIEST.isoformat())))
    if start > day:
        errors.append(FieldError("since", msg("report-since-after", since=start, day=day)))
    if errors:
        raise ValidationFailed(errors)
    revision = recorded_revision(store, as_of)
    record = recorded_graph(store, as_of)
    mm = store.metamodel
    snap = snapshot_from(mm, record, day, as_of, revision)
    org = snap.entities.get(province)
    if org is None or not mm.is_organisation(org.kind):
        raise ValidationFailed([FieldError("province", msg("report-province-unknown", ref=province, day=day))])
    orgs, entities = _scope(snap, province)
    counts: dict[str, int] = defaultdict(int)
    layers: dict[str, int] = dict.fromkeys(FRAMEWORK_LAYERS, 0)
    for e in entities:
        counts[e.kind] += 1
        layer = framework_layer(e.kind, e.attributes)
        if layer is not None:
            layers[layer] += 1
    name = org.name.get(lang)
    counter = [0]
    summary = Section("summary", say("report-h-summary", lang))
    summary.blocks.append(
        say(
            "report-summary",
            lang,
            province=name,
            day=day,
            orgs=counts.get(org.kind, 0),
            systems=counts.get("system", 0),
            databases=counts.get("database", 0),
            platforms=counts.get("platform", 0),
            services=counts.get("service", 0),
        )
    )
    summary.blocks.append(
        _numbered(
            counter,
            "summary-layers",
            say("report-t-summary", lang),
            _header(lang, msg("report-col-layer"), msg("report-col-kind"), msg("report-col-count")),
            _summary_rows(mm, entities, lang),
            lang,
        )
    )
    frozen_day = FrozenStore(Subgraph(snap.entities, snap.relationships), day, (revision.seq, revision.hash), mm)
    on_day = Subgraph({ref: _as_on(e, day, mm) for ref, e in record.entities.items()}, record.relationships)
    frozen_record = FrozenStore(on_day, day, (revision.seq, revision.hash), mm)
    sections = [summary]
    sections += _layer_sections(snap, entities, lang, counter)
    sections.append(_connections(snap, frozen_day, entities, lang, counter))
    sections.append(_figures(store, snap, entities, as_of, lang))
    sections.append(_compliance(frozen_record, snap, entities, orgs, lang, counter))
    sections.append(_org_changes(store, snap, orgs, start, lang, counter))
    annex = Section("annex", say("report-h-annex", lang))
    annex.blocks.append(say("report-annex", lang, n=counter[0]))
    sections.append(annex)
    return CurrentState(
        province=province,
        province_name=name,
        day=day,
        since=start,
        lang=lang,
        title=say("report-title", lang, province=name),
        stamp=stamp_line(day.isoformat(), as_of.isoformat() if as_of else None, revision, lang),
        revision=(revision.seq, revision.hash),
        sections=sections,
        counts=dict(counts),
        layer_counts=layers,
    )


def _as_on(e: Entity, day: dt.date, mm: Metamodel) -> Entity:
    """``e`` as the world had it on ``day``, for the compliance checks and the completeness per organisation, which
    read the current state: the ownership of that day as the current one (later periods dropped), and an
    organisation that still existed that day not yet merged or dissolved (its ``status`` is what a later event set)."""
    if mm.is_organisation(e.kind):
        exists = (e.valid_from is None or e.valid_from <= day) and (e.valid_to is None or day < e.valid_to)
        if exists and e.attributes.get("status") in ("merged", "dissolved"):
            return e.model_copy(update={"attributes": {**e.attributes, "status": "active"}})
        return e
    on = e.owner_on(day)
    if not e.owner_history or e.owner == on:
        return e

    def covers(p: Any) -> bool:
        return (p.start is None or p.start <= day) and (p.end is None or day < p.end)

    history = [
        p.model_copy(update={"end": None}) if on is not None and covers(p) else p
        for p in e.owner_history
        if p.start is None or p.start <= day
    ]
    return e.model_copy(update={"owner_history": history})


def _summary_rows(mm: Metamodel, entities: list[Entity], lang: str) -> list[list[Any]]:
    """Per framework layer, per kind: how many entities in scope (organisations are in no layer)."""
    n: dict[tuple[str, str], int] = defaultdict(int)
    for e in entities:
        layer = framework_layer(e.kind, e.attributes)
        if layer is not None:
            n[(layer, e.kind)] += 1
    return [
        [label.get(lang), mm.kinds[kind].plural.get(lang), n[(layer, kind)]]
        for layer, label in FRAMEWORK_LAYERS.items()
        for kind in mm.kinds
        if n.get((layer, kind))
    ]


# --- writing --------------------------------------------------------------------------------------------------------


def _cell(value: Any, lang: str) -> str:
    if isinstance(value, dt.date):
        return text(msg("report-dated", day=value), lang)
    if isinstance(value, int) and not isinstance(value, bool):
        return format_number(value, lang)
    return "" if value is None else str(value)


def _docx(report: CurrentState) -> bytes:
    from docx import Document
    from docx.enum.section import WD_SECTION
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    lang = report.lang
    doc = Document()
    props = doc.core_properties
    when = dt.datetime.combine(report.day, dt.time())
    props.title, props.author, props.created, props.modified, props.last_modified_by = (
        report.title,
        "ioc-catalog",
        when,
        when,
        "ioc-catalog",
    )
    props.revision = 1
    props.language = "vi-VN" if lang == "vi" else "en-GB"
    for style_name in ("Normal", "Title", "Heading 1", "Heading 2", "Caption", "Table Grid"):
        style = doc.styles[style_name]
        style.font.name = FONT
        rpr = style.element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = rpr.makeelement(qn("w:rFonts"), {})
            rpr.append(fonts)
        for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
            fonts.set(qn(attr), FONT)
        for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
            fonts.attrib.pop(qn(theme), None)
    doc.styles["Normal"].font.size = Pt(12)
    _page(doc.sections[0], landscape=False)
    doc.add_heading(report.title, level=0)
    doc.add_paragraph(say("report-subtitle", lang))
    stamp = doc.add_paragraph()
    stamp.add_run(report.stamp).italic = True
    doc.add_paragraph(say("report-generated", lang))
    for s in report.sections:
        if s.figures:  # the diagrams start on a new page
            doc.add_section(WD_SECTION.NEW_PAGE)
        doc.add_heading(s.heading, level=s.level)
        for block in s.blocks:
            if isinstance(block, str):
                doc.add_paragraph(block).paragraph_format.keep_with_next = True
            elif isinstance(block, Figure):
                w, h = _png_size(block.png)
                wide = w > h  # a wide diagram gets a landscape page of its own, a tall one a portrait page
                _page(doc.sections[-1] if block is s.figures[0] else doc.add_section(WD_SECTION.NEW_PAGE), wide)
                room_w, room_h = (LANDSCAPE_CM, MAX_HEIGHT_CM) if wide else (TABLE_CM, PORTRAIT_HEIGHT_CM)
                width = min(room_w, room_h * w / h) if w and h else room_w
                doc.add_picture(io.BytesIO(block.png), width=Cm(width))
                doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
                doc.paragraphs[-1].paragraph_format.keep_with_next = True
                doc.add_paragraph(block.caption, style="Caption")
            else:
                caption = doc.add_paragraph(block.title, style="Caption").paragraph_format
                caption.keep_with_next, caption.space_before = True, Pt(10)
                table = doc.add_table(rows=1, cols=len(block.header))
                table.style = doc.styles["Table Grid"]
                table.alignment = WD_TABLE_ALIGNMENT.CENTER
                for cell, head in zip(table.rows[0].cells, block.header, strict=True):
                    cell.text = head
                    for run in cell.paragraphs[0].runs:
                        run.bold = True
                        run.font.size = Pt(9)
                _repeat_header(table.rows[0], qn)
                shown = [[_cell(v, lang) for v in row] for row in block.rows]
                for row in shown:
                    added = table.add_row()
                    _keep_whole(added, qn)
                    cells = added.cells
                    for cell, value in zip(cells, row, strict=True):
                        cell.text = value
                        for run in cell.paragraphs[0].runs:
                            run.font.size = Pt(9)
                table.autofit = False
                for col, width in zip(table.columns, _widths(block.header, shown), strict=True):
                    col.width = Cm(width)
                    for cell in col.cells:
                        cell.width = Cm(width)
                if not block.rows:
                    doc.add_paragraph(say("report-table-empty", lang))
        if s.figures:  # and the text after them is on portrait pages again
            _page(doc.add_section(WD_SECTION.NEW_PAGE), landscape=False)
    out = io.BytesIO()
    doc.save(out)
    return repack(out.getvalue())


def _widths(header: list[str], rows: list[list[str]]) -> list[float]:
    """Column widths (cm) filling the table width: a narrow number column; every other column at least as wide as
    its longest word (words never break), the rest of the width shared by the length of each column's longest cell
    (half the header's: it may wrap), between 6 and 40 characters, less than proportionally."""
    weights, least = [], []
    for i, head in enumerate(header):
        texts = [r[i] for r in rows]
        words = [w for t in [head, *texts] for w in t.split()]
        least.append(CHAR_CM * max((len(w) for w in words), default=1) + PAD_CM)
        if i == 0 and all(t.isdigit() for t in texts):
            weights.append(0.0)
            continue
        longest = max([len(head) / 2, *(len(t) for t in texts)])
        weights.append(min(max(longest, 6), 40) ** 0.7)
    widths = [max(least[i], NUMBER_CM) if w == 0.0 else 0.0 for i, w in enumerate(weights)]
    free = [i for i, w in enumerate(weights) if w]
    while free:  # share what is left; a column below its longest word gets that and leaves the sharing
        left = TABLE_CM - sum(widths)
        total = sum(weights[i] for i in free)
        narrow = [i for i in free if left * weights[i] / total < least[i]]
        if not narrow:
            for i in free:
                widths[i] = left * weights[i] / total
            break
        for i in narrow:
            widths[i] = least[i]
        free = [i for i in free if i not in narrow]
    return widths


def _page(section: Any, landscape: bool) -> None:
    """An A4 page with 2 cm margins, portrait or landscape."""
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm

    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (Cm(29.7), Cm(21)) if landscape else (Cm(21), Cm(29.7))
    section.left_margin = section.right_margin = section.top_margin = section.bottom_margin = Cm(2)


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG from its header (0, 0 if it is not one)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 24:
        return 0, 0
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _repeat_header(row: Any, qn: Any) -> None:
    """Mark a table's first row as its header: Word and LibreOffice repeat it on every page the table spans."""
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(tr_pr.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"}))


def _keep_whole(row: Any, qn: Any) -> None:
    """A row never split across two pages."""
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(tr_pr.makeelement(qn("w:cantSplit"), {qn("w:val"): "true"}))


FORMATS = {  # format -> media type
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def filename(report: CurrentState, fmt: str) -> str:
    """``current-state-hcm-ubnd-2025-02-01.docx`` (the province's code, the day)."""
    code = report.province.split(":", 1)[-1]
    return f"current-state-{code}-{report.day.isoformat()}.{fmt}"


def check_format(fmt: str) -> str:
    """``fmt`` if it is one of :data:`FORMATS`, else ValidationFailed naming the field ``format``."""
    if fmt not in FORMATS:
        raise ValidationFailed([FieldError("format", msg("value-one-of", allowed=", ".join(FORMATS)))])
    return fmt


def report_file(report: CurrentState, fmt: str) -> bytes:
    """The report (``docx``) or its annex (``xlsx``)."""
    return report.to_docx() if check_format(fmt) == "docx" else report.to_xlsx()


__all__ = [
    "FORMATS",
    "CurrentState",
    "check_format",
    "Figure",
    "Section",
    "Table",
    "current_state",
    "filename",
    "report_file",
]
