"""Entity forms: a kind's fields from the metamodel, submitted values to service input, errors next to fields.

The form never validates on its own: it hands what was typed to :class:`catalog.services.CatalogService` (the same
rules as the API and the CLI, the text rules of :mod:`catalog.text` included) and places each
:class:`catalog.errors.FieldError` next to the field it names (or above the form when no field holds it), in the
user's language (:func:`reason`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api import messages
from catalog.errors import CatalogError, FieldError, ValidationFailed
from catalog.i18n import code_of, msg, text
from catalog.metamodel import KindSpec, Metamodel
from catalog.model import CODE_RE, Entity, parse_entity, parse_relationship, validate_entity, validate_relationship
from catalog.orgs import transfer
from catalog.services import CatalogService

NEW_LINKS = 3  # blank connection rows on a form


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


def field_key(location: str) -> str:
    """The form field an error location belongs to."""
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
    if location.startswith("links."):
        return "link_" + location.split(".")[1]
    return location.split(".")[0]


def link_types(mm: Metamodel, kind: str) -> list[str]:
    return [r for r, spec in mm.relations.items() if not spec.derived and kind in spec.sources]


@dataclass
class EntityForm:
    """What the user typed (re-shown after an error) and the errors by field key."""

    kind: str
    values: dict[str, str] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)  # new connections: {type, target, protocol}
    remove: set[str] = field(default_factory=set)  # ids of existing relationships to remove
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    spec: KindSpec | None = None  # the kind's metamodel entry: names the fields the form does not show

    @classmethod
    def from_entity(cls, e: Entity) -> EntityForm:
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
        return cls(kind=e.kind, values=values, links=[{} for _ in range(NEW_LINKS)])

    @classmethod
    def from_form(cls, kind: str, spec: KindSpec, form: Any) -> EntityForm:
        names = ["code", "name_vi", "name_en", "description_vi", "owner", "tags"] + [
            "attr_" + a.name for a in spec.attributes
        ]
        values = {n: str(form.get(n, "")).strip() for n in names}
        links = [
            {
                "type": str(form.get(f"link_{i}_type", "")).strip(),
                "target": str(form.get(f"link_{i}_target", "")).strip(),
                "protocol": str(form.get(f"link_{i}_protocol", "")).strip(),
            }
            for i in range(NEW_LINKS)
        ]
        return cls(kind=kind, values=values, links=links, remove={str(v) for v in form.getlist("remove")}, spec=spec)

    def add(self, errors: list[FieldError], lang: str, prefix: str = "") -> None:
        for e in errors:
            key = field_key(prefix + e.location)
            if key in self.values or key.startswith("link_"):
                self.errors.setdefault(key, []).append(reason(e, lang))
            else:  # a field the form does not show (provenance, a stored attribute of another version ...)
                self.general.append(f"{field_label(self.spec, e.location, lang)}: {reason(e, lang)}")

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


def save(service: CatalogService, form: EntityForm, lang: str, current: Entity | None = None) -> Entity | None:
    """Register (current None) or update an entity with its connections, all in one transaction. Returns the saved
    entity, or None with ``form.errors`` / ``form.general`` filled."""
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
    rels = []
    for i, link in enumerate(form.links):
        if not link.get("type") and not link.get("target"):
            continue
        if not link.get("type") or not link.get("target"):
            form.errors.setdefault(f"link_{i}", []).append(msg("ui-link-incomplete").text(lang))
            continue
        props = {"protocol": link["protocol"]} if link.get("protocol") else {}
        try:
            rels.append(
                validate_relationship(
                    parse_relationship(
                        {"type": link["type"], "source": ref, "target": link["target"], "properties": props}
                    ),
                    mm,
                )
            )
        except ValidationFailed as exc:
            form.add([FieldError(f"links.{i}", e.reason) for e in exc.errors], lang)
    targets = store.get_entities([r.target for r in rels])
    for i, link in enumerate(form.links):
        t = link.get("target")
        if t and link.get("type") and t not in targets and f"link_{i}" not in form.errors:
            form.errors.setdefault(f"link_{i}", []).append(msg("ui-link-target-missing", ref=t).text(lang))
    if form.errors or entity is None:
        return None
    try:
        return service.save_with_links(entity, rels, form.remove, current)
    except ValidationFailed as exc:
        form.add(exc.errors, lang)
    except CatalogError as exc:
        form.general.append(text(exc.message, lang))
    return None
