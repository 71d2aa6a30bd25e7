"""Entity forms: a kind's fields from the metamodel and its connections as rows, submitted values to one change set,
errors next to fields.

The form never validates on its own: what was typed goes through the model's own parsing and checks
(:func:`catalog.model.parse_entity`, :func:`catalog.model.validate_relationship`: every row's problems at once) and
then, as one change set (:mod:`catalog.changeset`: the entity's create or patch, and a link, relink or unlink per
connection row), to :func:`catalog.changeset.submit`, where the approval policy applies it at once or makes it one
draft, each change through the same service call as the API. Each :class:`catalog.errors.FieldError` is placed
next to the field it names (``changes.<i>.<field>``: the row and field of change ``i``), or above the form when no
field holds it, in the user's language (:func:`reason`).

Connection rows (:class:`LinkRow`): the relationships the entity has (each editable: a property change is a
relink; another type or target is an unlink and a link; ticking "remove" an unlink) and any number of new ones
(``link_<i>_<field>`` form fields, ``i`` below :data:`MAX_LINKS`). :func:`patterns` suggests rows for the common
connections (a system that writes a database, a flow to the city's IOC via its LGSP, the city data warehouse that
reads a database), pre-filled with the platforms of the user's own province or city, never forced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from api import messages
from catalog.changeset import Change, submit
from catalog.errors import CatalogError, FieldError, ValidationFailed
from catalog.i18n import Message, code_of, msg, text
from catalog.metamodel import KindSpec, Metamodel
from catalog.model import (
    CODE_RE,
    REF_RE,
    Entity,
    Relationship,
    parse_entity,
    parse_relationship,
    rel_id,
    validate_entity,
    validate_relationship,
)
from catalog.orgs import transfer
from catalog.permissions import Principal
from catalog.services import CatalogService
from catalog.store.base import EntityFilter

#: blank connection rows a form offers (with JavaScript "add a connection" adds more; without it, a submit button)
BLANK_LINKS = 2
#: the most connection rows one form takes (a larger change set is a spreadsheet import)
MAX_LINKS = 60
#: a connection's properties on the form (catalog.metamodel REL_PROPS; the note and validity are kept as stored)
LINK_PROPS = ("via", "data", "frequency", "protocol", "status", "legal_basis")
LINK_FIELDS = ("type", "target") + LINK_PROPS
_ROW_FIELD = re.compile(r"^link_(\d{1,4})_([a-z_]+)$")
_CHANGE_LOC = re.compile(r"^changes\.(\d+)\.?(.*)$")


def reason(e: FieldError, lang: str) -> str:
    """A field's refusal in the reader's language: a message of the catalog (:mod:`catalog.i18n`), or one of
    pydantic's error types by its message (:func:`api.messages.reason`); any other text as it is."""
    if code_of(e.reason):
        return text(e.reason, lang)
    return messages.reason(e.reason, lang, e.reason)


# the labels of an entity's own fields (its attributes' are the metamodel's)
FIELDS = {
    "name": msg("ui-field-name"),
    "description": msg("ui-field-description"),
    "tags": msg("ui-field-tags"),
    "owner": msg("ui-field-owner"),
    "owner_history": msg("ui-field-owner"),
    "valid_from": msg("ui-field-valid"),
    "valid_to": msg("ui-field-valid"),
    "provenance": msg("ui-field-source"),
    "code": msg("ui-field-code"),
}
PARTS = {"vi": msg("ui-field-part-vi"), "en": msg("ui-field-part-en")}


def field_label(spec: KindSpec | None, key: str, lang: str) -> str:
    """What people call a field of an entity (``attributes.lifecycle`` and ``lifecycle`` alike)."""
    key = key.removeprefix("attributes.").split(".")[0]
    if key in FIELDS:
        return FIELDS[key].text(lang)
    a = spec.attribute(key) if spec else None
    return a.label.get(lang) if a else key


def link_types(mm: Metamodel, kind: str) -> list[str]:
    return [r for r, spec in mm.relations.items() if not spec.derived and kind in spec.sources]


def field_key(location: str) -> str:
    """The form field an entity error location belongs to."""
    if location in ("name", "name.vi"):
        return "name_vi"
    if location == "name.en":
        return "name_en"
    if location.startswith("description"):
        return "description_vi"
    if location.startswith("attributes."):
        return "attr_" + location.split(".")[1]
    if location.startswith("owner"):
        return "owner"
    return location.split(".")[0]


def link_key(i: int, location: str) -> str:
    """The form field of row ``i`` a relationship error location belongs to (the row itself when none does)."""
    parts = location.split(".")
    if parts[0] in ("type", "target"):
        return f"link_{i}_{parts[0]}"
    if parts[0] == "properties" and len(parts) > 1 and parts[1] in LINK_PROPS:
        return f"link_{i}_{parts[1]}"
    return f"link_{i}"


@dataclass
class LinkRow:
    """One connection on the form: what was typed (``values`` by :data:`LINK_FIELDS`), and for a stored
    relationship its id and version (``remove``: ticked for removal)."""

    values: dict[str, str] = field(default_factory=dict)
    id: str = ""
    version: int | None = None
    remove: bool = False
    pattern: str = ""  # the suggestion that added it (shown as a hint)

    @property
    def blank(self) -> bool:
        return not self.id and not any(self.values.get(f) for f in LINK_FIELDS)

    @classmethod
    def of(cls, r: Relationship) -> LinkRow:
        values = {"type": r.type, "target": r.target}
        for p in LINK_PROPS:
            v = r.properties.get(p)
            values[p] = "" if v is None else str(v)
        return cls(values, r.id, r.version)


@dataclass
class EntityForm:
    """What the user typed (re-shown after an error) and the errors by field key (``link_<i>_<field>`` and
    ``link_<i>`` for the connection rows)."""

    kind: str
    values: dict[str, str] = field(default_factory=dict)
    links: list[LinkRow] = field(default_factory=list)
    blank: int = BLANK_LINKS  # blank rows shown after ``links``
    note: str = ""
    truncated: bool = False  # more rows were sent than a form takes
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    spec: KindSpec | None = None  # the kind's metamodel entry: names the fields the form does not show

    @classmethod
    def from_entity(cls, e: Entity, rels: Iterable[Relationship] = ()) -> EntityForm:
        values = {
            "code": e.code,
            "name_vi": e.name.vi,
            "name_en": e.name.en,
            "description_vi": e.description.vi,
            "owner": e.owner or "",
            "tags": ", ".join(e.tags),
        }
        for k, v in e.attributes.items():
            values["attr_" + k] = (
                "; ".join(v) if isinstance(v, list) else str(v).lower() if isinstance(v, bool) else str(v)
            )
        return cls(kind=e.kind, values=values, links=[LinkRow.of(r) for r in rels])

    @classmethod
    def from_form(cls, kind: str, spec: KindSpec, form: Any) -> EntityForm:
        names = ["code", "name_vi", "name_en", "description_vi", "owner", "tags"] + [
            "attr_" + a.name for a in spec.attributes
        ]
        values = {n: str(form.get(n, "")).strip() for n in names}
        out = cls(kind=kind, values=values, spec=spec, note=str(form.get("note", "")).strip()[:2000])
        indices = sorted({int(m.group(1)) for k in form.keys() if (m := _ROW_FIELD.match(str(k)))})
        blanks = 0
        for i in indices:
            if len(out.links) >= MAX_LINKS:
                out.truncated = True
                break
            row = LinkRow(
                {f: str(form.get(f"link_{i}_{f}", "")).strip()[:2000] for f in LINK_FIELDS},
                str(form.get(f"link_{i}_id", "")).strip()[:400],
                _version(form.get(f"link_{i}_version")),
                str(form.get(f"link_{i}_remove", "")) == "1",
                str(form.get(f"link_{i}_pattern", "")).strip()[:40],
            )
            if row.blank:
                blanks += 1
            else:
                out.links.append(row)
        out.blank = blanks
        return out

    def add(self, errors: list[FieldError], lang: str, prefix: str = "") -> None:
        for e in errors:
            key = field_key(prefix + e.location)
            if key in self.values:
                self.errors.setdefault(key, []).append(reason(e, lang))
            else:  # a field the form does not show (provenance, a stored attribute of another version ...)
                self.general.append(f"{field_label(self.spec, e.location, lang)}: {reason(e, lang)}")

    def add_link(self, i: int, errors: list[FieldError], lang: str) -> None:
        for e in errors:
            self.errors.setdefault(link_key(i, e.location), []).append(reason(e, lang))

    def row_invalid(self, i: int) -> bool:
        return any(k == f"link_{i}" or k.startswith(f"link_{i}_") for k in self.errors)

    def entity_data(self, spec: KindSpec) -> dict[str, Any]:
        v = self.values
        attrs = {a.name: v.get("attr_" + a.name, "") for a in spec.attributes}
        data: dict[str, Any] = {
            "kind": self.kind,
            "code": v.get("code", ""),
            "name": {"vi": v.get("name_vi", ""), "en": v.get("name_en", "")},
            "description": {"vi": v.get("description_vi", ""), "en": ""},
            "tags": [t for t in (x.strip() for x in v.get("tags", "").split(",")) if t],
            "attributes": {k: x for k, x in attrs.items() if x != ""},
        }
        if spec.owned and v.get("owner"):
            data["owner"] = v["owner"]
        return data


def _version(value: Any) -> int | None:
    try:
        n = int(str(value))
    except (TypeError, ValueError):
        return None
    return n if 1 <= n < 2**53 else None


# --- suggested connections ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    """A suggested connection: a button that adds a pre-filled row (the user may change or remove it)."""

    name: str
    label: Message
    values: dict[str, str]


def home_platform(store: Any, principal: Principal | None, home: str | None, subtype: str) -> Entity | None:
    """The current platform of ``subtype`` (city_ioc, lgsp, warehouse ...) of the principal's province or city (that
    of ``home``, the search_home setting, for a principal without an organisation): the province's own before one
    it inherited from a merged province (Bình Dương's IOC, now owned by a HCMC department), in production before
    retiring; None when there is none."""
    from catalog.search import Places, is_current, province_of_principal
    from catalog.text import vi_sort_key

    place = province_of_principal(store, principal, home)
    if place is None:
        return None
    mm, places, today = store.metamodel, Places.of(store), store.clock().date()
    kinds = [
        k
        for k, s in mm.kinds.items()
        if (a := s.attribute("platform_subtype")) is not None and a.values and subtype in a.values
    ]
    found = [
        e
        for k in kinds
        for e in store.list_entities(EntityFilter(kind=k, attributes={"platform_subtype": subtype}, limit=1000))
        if e.attributes.get("platform_subtype") == subtype and is_current(e, today) and places.place_of(e) == place
    ]
    found.sort(
        key=lambda e: (
            places.former_place_of(e, place) is not None,
            e.attributes.get("lifecycle") != "production",
            vi_sort_key(e.name.vi),
        )
    )
    return found[0] if found else None


def patterns(store: Any, kind: str, principal: Principal | None, home: str | None) -> list[Pattern]:
    """The suggested connections for an entity of ``kind``, as far as the metamodel allows them from it."""
    mm = store.metamodel
    types = set(link_types(mm, kind))
    feeds, writes = mm.relations.get("feeds"), mm.relations.get("writes")
    out: list[Pattern] = []
    if "writes" in types:
        out.append(Pattern("writes-db", msg("ui-pattern-writes-db"), {"type": "writes", "frequency": "daily"}))
    lgsp = home_platform(store, principal, home, "lgsp")
    via = {"via": lgsp.ref} if lgsp is not None else {}
    ioc = home_platform(store, principal, home, "city_ioc")
    if ioc is not None and feeds is not None and "feeds" in types and ioc.kind in feeds.targets:
        out.append(
            Pattern(
                "ioc-via-lgsp",
                msg("ui-pattern-ioc-via-lgsp") if lgsp else msg("ui-pattern-ioc"),
                {"type": "feeds", "target": ioc.ref, **via, "frequency": "daily", "status": "active"},
            )
        )
    warehouse = home_platform(store, principal, home, "warehouse")
    written = writes is not None and kind in writes.targets  # a database: the warehouse reads what is written to it
    if warehouse is not None and feeds is not None and "feeds" in types and written and warehouse.kind in feeds.targets:
        out.append(
            Pattern(
                "warehouse-reads",
                msg("ui-pattern-warehouse-reads"),
                {"type": "feeds", "target": warehouse.ref, **via, "frequency": "daily", "status": "active"},
            )
        )
    return out


def _parse(data: dict[str, Any], mm: Metamodel) -> Entity:
    """parse_entity, but a bad code does not hide the other fields' errors: they are checked with a stand-in code."""
    try:
        return parse_entity(data)
    except ValidationFailed as exc:
        errors = list(exc.errors)
        if any(e.location == "code" for e in errors):
            try:
                validate_entity(parse_entity({**data, "code": "stand-in"}), mm)
            except ValidationFailed as more:
                errors += [e for e in more.errors if e not in errors]
        raise ValidationFailed(errors) from None


def _entity(form: EntityForm, spec: KindSpec, mm: Metamodel, current: Entity | None, today: Any) -> Entity:
    data = form.entity_data(spec)
    if current is not None:
        data["code"] = current.code
        data["description"]["en"] = current.description.en
        owner = data.pop("owner", None)
        e = _parse(data, mm)
        history = current.owner_history
        if owner and owner != current.owner:
            history = transfer(current, owner, today).owner_history
        elif not owner and spec.owned and current.owner:
            raise ValidationFailed([FieldError("owner", msg("ui-owner-required"))])
        e = e.model_copy(
            update={"owner_history": history, "valid_from": current.valid_from, "valid_to": current.valid_to}
        )
    else:
        e = _parse(data, mm)
    return validate_entity(e, mm)


def draft_changes(form: EntityForm, spec: KindSpec, current: Entity) -> dict[str, Any]:
    """The fields the form changes, as :meth:`CatalogService.patch` (and a draft) takes them; attributes the form
    empties become None (removed). Values stay as typed: the draft's own validation coerces and checks them."""
    data = form.entity_data(spec)
    changes: dict[str, Any] = {}
    if data["name"] != {"vi": current.name.vi, "en": current.name.en}:
        changes["name"] = data["name"]
    if data["description"]["vi"] != current.description.vi:
        changes["description"] = {"vi": data["description"]["vi"], "en": current.description.en}
    if sorted(set(data["tags"])) != current.tags:
        changes["tags"] = data["tags"]
    attrs: dict[str, Any] = {}
    for a in spec.attributes:
        if a.kept:  # what an import kept from its source is not on the form: left as it is
            continue
        new, old = data["attributes"].get(a.name), current.attributes.get(a.name)
        if new is None:
            if old is not None:
                attrs[a.name] = None
            continue
        try:
            same = a.coerce(new) == old
        except ValueError:
            same = False
        if not same:
            attrs[a.name] = new
    if attrs:
        changes["attributes"] = attrs
    if spec.owned and data.get("owner") and data["owner"] != current.owner:
        changes["owner"] = data["owner"]
    return changes


@dataclass
class Saved:
    """What a form's change set became: applied (``draft`` None) or one draft awaiting review (``reasons``: why,
    from the approval policy). ``ref`` is the entity's."""

    ref: str
    draft: Any = None
    reasons: list[Any] = field(default_factory=list)


def _link_data(row: LinkRow, source: str, stored: Relationship | None) -> dict[str, Any]:
    """A row as relationship data: its properties as typed (empty ones left out); for a stored relationship with
    the same type and target, what the form does not show (the note, validity) kept."""
    v = row.values
    props = {p: v[p] for p in LINK_PROPS if v.get(p)}
    data: dict[str, Any] = {"type": v.get("type", ""), "source": source, "target": v.get("target", "")}
    if stored is not None:
        props = {**{k: x for k, x in stored.properties.items() if k not in LINK_PROPS}, **props}
        data["valid_from"] = stored.valid_from.isoformat() if stored.valid_from else None
        data["valid_to"] = stored.valid_to.isoformat() if stored.valid_to else None
    data["properties"] = props
    return data


def _same(row: LinkRow, stored: Relationship) -> bool:
    """The row shows the stored relationship unchanged (properties compared as the form shows them)."""
    return all(
        row.values.get(p, "") == ("" if stored.properties.get(p) is None else str(stored.properties[p]))
        for p in LINK_PROPS
    )


def save(service: CatalogService, form: EntityForm, lang: str, current: Entity | None = None) -> Saved | None:
    """Register (current None) or edit an entity with its connection rows, as one change set handed to
    :func:`catalog.changeset.submit`. Returns what it became, or None with ``form.errors`` / ``form.general``
    filled (nothing written)."""
    store, mm = service.store, service.store.metamodel
    spec = mm.kind(form.kind)
    form.spec = spec
    entity: Entity | None = None
    try:
        entity = _entity(form, spec, mm, current, service.today)
    except ValidationFailed as exc:
        form.add(exc.errors, lang)
    code = form.values.get("code", "")
    ref = (
        entity.ref
        if entity
        else current.ref
        if current
        else f"{form.kind}:{code if CODE_RE.match(code) else 'stand-in'}"
    )  # a bad code is reported once, on its field
    if form.truncated:
        form.general.append(msg("ui-links-too-many", limit=MAX_LINKS).text(lang))
    # every row checked by the model at once (the service checks them again when the change set is applied)
    stored = {r.id: r for r in store.list_relationships(ref, direction="out")} if current else {}
    planned: list[tuple[int, Change]] = []
    for i, row in enumerate(form.links):
        v = row.values
        old = stored.get(row.id) if row.id else None
        if row.id and old is None:
            form.errors.setdefault(f"link_{i}", []).append(msg("relationship-not-found", id=row.id).text(lang))
            continue
        version = row.version or (old.version if old else None)
        if old is not None and row.remove:
            planned.append((i, Change("unlink", old.id, {}, version)))
            continue
        if not v.get("type") or not v.get("target"):
            key = f"link_{i}_type" if not v.get("type") else f"link_{i}_target"
            form.errors.setdefault(key, []).append(msg("ui-link-incomplete").text(lang))
            continue
        moved = old is not None and (v["type"] != old.type or v["target"] != old.target)
        if old is not None and not moved and _same(row, old):
            continue
        data = _link_data(row, ref, old if old is not None and not moved else None)
        try:
            validate_relationship(parse_relationship(data), mm)
        except ValidationFailed as exc:
            form.add_link(i, exc.errors, lang)
            continue
        if old is None or moved:
            if old is not None:
                planned.append((i, Change("unlink", old.id, {}, version)))
            planned.append((i, Change("link", rel_id(ref, data["type"], data["target"]), data)))
        else:
            planned.append((i, Change("relink", old.id, data, version)))
    named = {r for _, c in planned if c.op == "link" for r in (c.data["target"], c.data["properties"].get("via"))}
    found = store.get_entities(sorted(r for r in named if isinstance(r, str) and REF_RE.match(r)))
    for i, c in planned:
        if c.op in ("link", "relink"):
            for f, r in (("target", c.data["target"]), ("via", c.data["properties"].get("via"))):
                if r and r not in found and c.op == "link" and not form.row_invalid(i):
                    form.errors.setdefault(f"link_{i}_{f}", []).append(msg("ui-link-target-missing", ref=r).text(lang))
    if form.errors or form.general or entity is None:
        return None
    # a new entity comes first (its connections name it); an edit's connections come before the entity's own
    # change, which is then its latest entry in the change log
    changes: list[Change] = [c for _, c in planned]
    rows: list[int | None] = [i for i, _ in planned]
    if current is None:
        changes.insert(0, Change("create", ref, form.entity_data(spec)))
        rows.insert(0, None)
    elif patch := draft_changes(form, spec, current):
        changes.append(Change("patch", ref, patch, current.version))
        rows.append(None)
    if not changes:
        return Saved(ref)
    try:
        outcome = submit(store, service.principal, changes, note=form.note, today=service.today)
    except ValidationFailed as exc:
        for e in exc.errors:
            m = _CHANGE_LOC.match(e.location)
            at = rows[int(m.group(1))] if m and int(m.group(1)) < len(rows) else None
            if m and at is not None:
                form.add_link(at, [FieldError(m.group(2), e.reason)], lang)
            else:
                form.add([FieldError(m.group(2) if m else e.location, e.reason)], lang)
        return None
    except CatalogError as exc:
        form.general.append(text(exc.message, lang))
        return None
    if outcome.draft is None:
        return Saved(ref)
    return Saved(ref, outcome.draft, list(outcome.reasons))


@dataclass(frozen=True)
class ConnectionFields:
    """What a form's connection rows offer for an entity of one kind: the relationship types the metamodel allows
    from it, with the kinds each may point at (the target picker's), and the properties' specs (labels, values)."""

    types: list[tuple[str, Any, str]]  # (type, its label, the kinds of its targets, comma-separated)
    target_kinds: str  # every type's
    props: dict[str, Any]  # property name -> AttributeSpec
    via_kinds: str


def connection_fields(mm: Metamodel, kind: str) -> ConnectionFields:
    types = link_types(mm, kind)
    shown = [(t, mm.relations[t].label, ",".join(mm.relations[t].targets)) for t in types]
    every = [k for k in mm.kinds if any(k in mm.relations[t].targets for t in types)]
    props: dict[str, Any] = {}
    for t in types:
        for p in LINK_PROPS:
            if p not in props and (a := mm.relations[t].property(p)) is not None:
                props[p] = a
    via = props.get("via")
    return ConnectionFields(shown, ",".join(every), props, ",".join(via.ref_kinds) if via is not None else "")
