"""Entities, relationships, organisation events and change-log entries as pydantic models.

Structure is checked by pydantic; meaning (kinds, attributes, allowed endpoints) by :func:`validate_entity` and
:func:`validate_relationship` against the metamodel, and :func:`validate_event` for organisation events. All three
also apply the text rules of :mod:`catalog.text` to every string and key (no control characters but tab and line
breaks, no lone surrogates, no bidirectional overrides or isolates, no noncharacters) and return the text NFC. They
raise :class:`ValidationFailed` naming every bad field. Every door that writes (the services behind the API, the
web forms and the CLI; drafts; importers) validates through them.

The models themselves accept any text, so that what a catalog stored before a rule existed can still be read,
shown, exported and corrected.
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    computed_field,
    field_validator,
    model_validator,
)

from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import Message, Term, msg, one_of, term
from catalog.metamodel import DEFAULT, EVENT_TYPES, AttributeSpec, Metamodel
from catalog.text import clean_json, nfc, text_problem, text_reason

_CODE = r"[a-z0-9][a-z0-9._-]{0,127}"  # lower-case ASCII letters, digits, ". _ -"; at most 128 characters
_KIND = r"[a-z_]+"


def ref_pattern(kinds: Iterable[str] = ()) -> str:
    """The one pattern of a reference ``kind:code`` (group 1 the kind, group 2 the code), anchored; of one of
    ``kinds`` when given. For pydantic fields, JSON Schema and OpenAPI as well as :data:`REF_RE`."""
    kind = "|".join(re.escape(k) for k in kinds) or _KIND
    return rf"^({kind}):({_CODE})$"


CODE_PATTERN = rf"^{_CODE}$"  # an entity's (or an organisation event's) code, anchored
REF_PATTERN = ref_pattern()
CODE_RE = re.compile(CODE_PATTERN)
REF_RE = re.compile(REF_PATTERN)


def split_ref(ref: str) -> tuple[str, str]:
    m = REF_RE.match(ref or "")
    if not m:
        raise ValidationFailed([FieldError("ref", msg("ref-malformed", ref=ref))])
    return m.group(1), m.group(2)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LocalText(_Model):
    """A bilingual value: Vietnamese first, English second."""

    vi: str = Field("", max_length=2000)
    en: str = Field("", max_length=2000)

    @field_validator("vi", "en")
    @classmethod
    def _nfc(cls, v: str) -> str:
        return nfc(v)

    def get(self, lang: str = "vi") -> str:
        if lang == "en":
            return self.en or self.vi
        return self.vi or self.en


class LongText(LocalText):
    vi: str = Field("", max_length=100_000)
    en: str = Field("", max_length=100_000)


class Provenance(_Model):
    source: str = Field(max_length=500)
    run: str = Field(max_length=200)


class OwnerPeriod(_Model):
    """One period of ownership (Chủ quản). ``start`` inclusive, ``end`` exclusive; None means open."""

    org: str
    start: dt.date | None = None
    end: dt.date | None = None
    basis: str | None = Field(None, max_length=500)
    event: str | None = None

    @model_validator(mode="after")
    def _order(self) -> OwnerPeriod:
        if self.start and self.end and self.end <= self.start:
            raise ValueError(msg("end-after-start"))
        return self


class Entity(_Model):
    kind: str
    code: str
    name: LocalText
    description: LongText = Field(default_factory=LongText)
    owner_history: list[OwnerPeriod] = Field(default_factory=list)
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    tags: list[str] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)
    version: int = 0
    provenance: Provenance | None = None
    created_at: str | None = None
    updated_at: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_ref(cls, data: Any) -> Any:
        """Accept the computed ``ref`` on input (as exports and the change log carry it); it must agree."""
        if isinstance(data, dict) and "ref" in data:
            data = dict(data)
            ref = data.pop("ref")
            if "kind" not in data and "code" not in data:
                m = REF_RE.match(str(ref))
                if not m:
                    raise ValueError(msg("ref-malformed", ref=str(ref)))
                data["kind"], data["code"] = m.group(1), m.group(2)
            elif ref != f"{data.get('kind')}:{data.get('code')}":
                raise ValueError(msg("ref-mismatch", ref=str(ref)))
        return data

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not CODE_RE.match(v):
            raise ValueError(msg("code-malformed"))
        return v

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        out = sorted({nfc(t.strip()) for t in v if t.strip()})
        if any(len(t) > 100 for t in out):
            raise ValueError(msg("tag-too-long", limit=100))
        return out

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.code}"

    @property
    def owner(self) -> str | None:
        """The current owner: the open-ended ownership period."""
        for p in reversed(self.owner_history):
            if p.end is None:
                return p.org
        return None

    def owner_on(self, day: dt.date) -> str | None:
        for p in self.owner_history:
            if (p.start is None or p.start <= day) and (p.end is None or day < p.end):
                return p.org
        return None

    def content(self) -> dict[str, Any]:
        """What the entity says, without store bookkeeping (version, timestamps): used for equality and hashes."""
        return self.model_dump(mode="json", exclude={"version", "created_at", "updated_at"})


def current_owner(owner_history: list[dict[str, Any]]) -> str | None:
    """The current owner from stored content's ``owner_history`` (dicts), as :attr:`Entity.owner` gives it from the
    model: the last open-ended period. For readers of stored JSON that build no model."""
    return next((p["org"] for p in reversed(owner_history) if p["end"] is None), None)


def rel_id(source: str, type_: str, target: str) -> str:
    return f"{source}>{type_}>{target}"


class Relationship(_Model):
    type: str
    source: str
    target: str
    properties: dict[str, Any] = Field(default_factory=dict)
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    version: int = 0
    provenance: Provenance | None = None
    created_at: str | None = None
    updated_at: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and "id" in data:
            data = {k: v for k, v in data.items() if k != "id"}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        return rel_id(self.source, self.type, self.target)

    def content(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"version", "created_at", "updated_at"})


class Transfer(_Model):
    entity: str
    to: str


class OrgEvent(_Model):
    """A dated change to the organisation structure, with its legal basis."""

    id: str = Field(pattern=CODE_PATTERN)
    type: Literal["create", "rename", "merge", "absorb", "split", "reestablish", "dissolve", "transfer"]
    date: dt.date
    legal_basis: str = Field("", max_length=500)
    from_: list[str] = Field(default_factory=list, alias="from")
    to: list[str] = Field(default_factory=list)
    transfers: list[Transfer] = Field(default_factory=list)
    new_name: LocalText | None = None
    note: str = Field("", max_length=2000)
    version: int = 0
    provenance: Provenance | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)

    @property
    def ref(self) -> str:
        return f"event:{self.id}"

    def content(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude={"version"})


assert set(EVENT_TYPES) == set(typing.get_args(OrgEvent.model_fields["type"].annotation))  # one list of event types


class ChangeEntry(_Model):
    seq: int
    time: str
    actor: str
    request_id: str
    op: str
    ref: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str
    # who proposed a change the actor approved (an approved draft's submitter); an entry without one is written as
    # entries always were, with no proposer key
    proposer: str | None = Field(default=None, exclude_if=lambda v: v is None)


# ---------------------------------------------------------------------------------------------------------------
# Validation against the metamodel


M = TypeVar("M", bound=BaseModel)


# pydantic's error types, each its own code; the error's context (max_length, ge...) are its parameters
PYDANTIC: dict[str, Message] = {
    "missing": msg("pydantic-missing"),
    "extra_forbidden": msg("pydantic-extra-forbidden"),
    "json_invalid": msg("pydantic-json-invalid"),
    "string_type": msg("pydantic-string-type"),
    "int_type": msg("pydantic-int-type"),
    "int_parsing": msg("pydantic-int-parsing"),
    "int_from_float": msg("pydantic-int-parsing"),
    "float_type": msg("pydantic-float-type"),
    "float_parsing": msg("pydantic-float-type"),
    "bool_parsing": msg("pydantic-bool-parsing"),
    "bool_type": msg("pydantic-bool-type"),
    "date_from_datetime_parsing": msg("pydantic-date-from-datetime-parsing"),
    "date_from_datetime_inexact": msg("pydantic-date-from-datetime-parsing"),
    "date_parsing": msg("pydantic-date-parsing"),
    "date_type": msg("pydantic-date-type"),
    "dict_type": msg("pydantic-dict-type"),
    "model_type": msg("pydantic-dict-type"),
    "model_attributes_type": msg("pydantic-model-attributes-type"),
    "list_type": msg("pydantic-list-type"),
    "literal_error": msg("pydantic-literal-error"),
    "enum": msg("pydantic-literal-error"),
    "string_too_long": msg("pydantic-string-too-long"),
    "string_too_short": msg("pydantic-string-too-short"),
    "string_pattern_mismatch": msg("pydantic-string-pattern-mismatch"),
    "greater_than_equal": msg("pydantic-greater-than-equal"),
    "greater_than": msg("pydantic-greater-than-equal"),
    "less_than_equal": msg("pydantic-less-than-equal"),
    "less_than": msg("pydantic-less-than-equal"),
    "too_long": msg("pydantic-too-long"),
}


def pydantic_reason(err: dict[str, Any]) -> Message:
    """The catalog's message for one pydantic error: the Message a validator raised (``ValueError(msg(...))``), or
    the message of its error type with its context as parameters (``pydantic-other`` naming the type if new)."""
    ctx = err.get("ctx") or {}
    raised = ctx.get("error")
    if isinstance(raised, ValueError) and raised.args and isinstance(raised.args[0], Message):
        return raised.args[0]
    kind = str(err.get("type", ""))
    base = PYDANTIC.get(kind)
    if base is None:
        return msg("pydantic-other", type=kind)
    return Message(base.code, {k: v for k, v in ctx.items() if isinstance(v, (str, int, float))})


def pydantic_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if p != "__root__")
        out.append(FieldError(f"{prefix}{loc}" if loc else prefix.rstrip(".") or "body", pydantic_reason(dict(err))))
    return out


def parse_entity(data: Any, where: str = "") -> Entity:
    """Parse untrusted input into an Entity (structure only); errors name each bad field."""
    if isinstance(data, dict) and "ref" in data and not REF_RE.match(str(data["ref"])):
        raise ValidationFailed(
            [FieldError(f"{where}.ref" if where else "ref", msg("ref-malformed", ref=str(data["ref"])))]
        )
    if isinstance(data, dict) and "owner" in data:
        data = dict(data)
        owner = data.pop("owner")
        if owner and not data.get("owner_history"):
            data["owner_history"] = [{"org": owner}]
    try:
        return Entity.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(pydantic_errors(exc, f"{where}." if where else "")) from None


def parse_relationship(data: Any, where: str = "") -> Relationship:
    try:
        return Relationship.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(pydantic_errors(exc, f"{where}." if where else "")) from None


_BOOKKEEPING = frozenset({"version", "created_at", "updated_at"})


def _map_text(value: Any, path: str, fn: Callable[[str, str], str]) -> Any:
    """``value`` with every string and dict key replaced by ``fn(text, path)``, the same object wherever nothing
    changed; models are copied field by field (bookkeeping, version and timestamps, left out)."""
    if isinstance(value, str):
        return fn(value, path)
    if isinstance(value, BaseModel):
        updates = {}
        for name, v in value.__dict__.items():
            if name not in _BOOKKEEPING and (new := _map_text(v, f"{path}.{name}" if path else name, fn)) is not v:
                updates[name] = new
        return value.model_copy(update=updates) if updates else value
    if isinstance(value, dict):
        out, changed = {}, False
        for k, v in value.items():
            where = f"{path}.{k}" if path else str(k)
            key = fn(k, where) if isinstance(k, str) else k
            new = _map_text(v, where, fn)
            changed = changed or key is not k or new is not v
            out[key] = new
        return out if changed else value
    if isinstance(value, list):
        items = [_map_text(v, f"{path}.{i}" if path else str(i), fn) for i, v in enumerate(value)]
        return items if any(a is not b for a, b in zip(items, value, strict=False)) else value
    return value


def check_text(model: M, where: str = "") -> M:
    """``model`` with every string NFC, or :class:`ValidationFailed` naming each string or key that breaks a text
    rule (each reason the rule's message, :func:`catalog.text.text_reason`). Bookkeeping (version, timestamps) is
    not checked."""
    try:  # the usual case, text that needs nothing, found in one pass over the model's JSON
        if clean_json(orjson.dumps(model.model_dump(exclude=set(_BOOKKEEPING)))):
            return model
    except TypeError:  # what orjson cannot write (a lone surrogate, a key that is not text): the walk says why
        pass
    errors: dict[str, FieldError] = {}  # by place: a bad key and its bad value are one error

    def check(text: str, path: str) -> str:
        code = text_problem(text)
        if code:
            errors.setdefault(path or "body", FieldError(path or "body", text_reason(code)))
            return text
        return text if text.isascii() else nfc(text)

    out = _map_text(model, where, check)
    if errors:
        raise ValidationFailed(list(errors.values()))
    return out


def rewrite_text(model: M, fix: Callable[[str], str], where: str = "") -> tuple[M, list[str]]:
    """A copy of ``model`` whose strings and keys went through ``fix`` (one of :func:`catalog.text.xml_text`,
    :func:`catalog.text.utf8_text`), and the paths it changed; ``model`` itself when nothing changed. For writers
    of formats that cannot hold every string a catalog may have stored."""
    changed: list[str] = []

    def rewrite(text: str, path: str) -> str:
        new = fix(text)
        if new != text:
            changed.append(path)
            return new
        return text

    return _map_text(model, where, rewrite), changed


def _coerce_values(
    values: dict[str, Any],
    specs: tuple[AttributeSpec, ...],
    where: str,
    unknown: Callable[[list[Term]], Message],
    errors: list[FieldError],
) -> dict[str, Any]:
    """Attribute or property values in their canonical types; empty values dropped; problems appended to errors."""
    by_name = {a.name: a for a in specs}
    out: dict[str, Any] = {}
    for key, value in values.items():
        a = by_name.get(key)
        if a is None:
            errors.append(FieldError(f"{where}.{key}", unknown([term(a.name, a.label) for a in specs])))
            continue
        if value is None or value == "":
            continue
        try:
            out[key] = a.coerce(nfc(value) if isinstance(value, str) else value)
        except ValueError as exc:
            errors.append(
                FieldError(
                    f"{where}.{key}",
                    exc.args[0] if exc.args and isinstance(exc.args[0], Message) else msg("value-invalid"),
                )
            )
    return out


def validate_entity(entity: Entity, mm: Metamodel = DEFAULT, where: str = "") -> Entity:
    """Check an entity against the metamodel and the text rules; return it with attributes coerced to canonical
    types and its text NFC."""
    pre = f"{where}." if where else ""
    entity = check_text(entity, where)
    errors: list[FieldError] = []
    spec = mm.kinds.get(entity.kind)
    if spec is None:
        raise ValidationFailed(
            [FieldError(f"{pre}kind", msg("kind-unknown", kind=entity.kind, allowed=", ".join(mm.kinds)))]
        )
    if not entity.name.vi and not entity.name.en:
        errors.append(FieldError(f"{pre}name", msg("name-required")))
    attrs = _coerce_values(
        entity.attributes,
        spec.attributes,
        f"{pre}attributes",
        lambda allowed: msg("attribute-unknown", kind=term(spec.name, spec.label), allowed=allowed),
        errors,
    )
    for a in spec.attributes:
        if a.required and a.name not in attrs and not any(e.location == f"{pre}attributes.{a.name}" for e in errors):
            errors.append(
                FieldError(
                    f"{pre}attributes.{a.name}",
                    msg(
                        "attribute-required-one-of",
                        kind=term(spec.name, spec.label),
                        allowed=[a.value_term(v) for v in a.values],
                    )
                    if a.values
                    else msg("attribute-required", kind=term(spec.name, spec.label)),
                )
            )
    if entity.owner_history and not spec.owned:
        errors.append(FieldError(f"{pre}owner", msg("kind-has-no-owner", kind=term(spec.name, spec.label))))
    prev_end: dt.date | None = None
    for i, p in enumerate(entity.owner_history):
        if not p.org.startswith("organization:"):
            errors.append(FieldError(f"{pre}owner_history.{i}.org", msg("must-reference-organization")))
        if i > 0 and (prev_end is None or p.start is None or p.start < prev_end):
            errors.append(FieldError(f"{pre}owner_history.{i}.start", msg("owner-periods-overlap")))
        prev_end = p.end
    if entity.valid_from and entity.valid_to and entity.valid_to <= entity.valid_from:
        errors.append(FieldError(f"{pre}valid_to", msg("valid-to-after-from")))
    if errors:
        raise ValidationFailed(errors)
    return entity.model_copy(update={"attributes": dict(sorted(attrs.items()))})


def validate_relationship(rel: Relationship, mm: Metamodel = DEFAULT, where: str = "") -> Relationship:
    """Check a relationship against the metamodel and the text rules; return it with properties coerced to
    canonical types and its text NFC."""
    pre = f"{where}." if where else ""
    rel = check_text(rel, where)
    errors: list[FieldError] = []
    spec = mm.relations.get(rel.type)
    if spec is None or spec.derived:
        raise ValidationFailed(
            [
                FieldError(
                    f"{pre}type", msg("relation-type-unknown", type=rel.type, allowed=", ".join(mm.stored_relations()))
                )
            ]
        )
    for end, allowed in (("source", spec.sources), ("target", spec.targets)):
        ref = getattr(rel, end)
        m = REF_RE.match(ref)
        if not m:
            errors.append(FieldError(f"{pre}{end}", msg("ref-malformed", ref=ref)))
        elif m.group(1) not in allowed:
            kinds = mm.kinds
            said = {
                "type": term(rel.type, spec.label),
                "allowed": one_of(term(k, kinds[k].label if k in kinds else None) for k in allowed),
                "kind": term(m.group(1), kinds[m.group(1)].label if m.group(1) in kinds else None),
            }
            errors.append(
                FieldError(
                    f"{pre}{end}",
                    msg("relation-source-kind", **said) if end == "source" else msg("relation-target-kind", **said),
                )
            )
    if spec.same_kind and not errors and rel.source.split(":", 1)[0] != rel.target.split(":", 1)[0]:
        errors.append(FieldError(f"{pre}target", msg("relation-same-kind", type=term(rel.type, spec.label))))
    if rel.source == rel.target:
        errors.append(FieldError(f"{pre}target", msg("relation-self")))
    props = _coerce_values(
        rel.properties,
        spec.properties,
        f"{pre}properties",
        lambda allowed: msg("property-unknown", type=term(rel.type, spec.label), allowed=allowed),
        errors,
    )
    if rel.valid_from and rel.valid_to and rel.valid_to <= rel.valid_from:
        errors.append(FieldError(f"{pre}valid_to", msg("valid-to-after-from")))
    if errors:
        raise ValidationFailed(errors)
    return rel.model_copy(update={"properties": dict(sorted(props.items()))})


def validate_event(ev: OrgEvent, where: str = "") -> OrgEvent:
    """Check an organisation event against the text rules; return it with its text NFC."""
    return check_text(ev, where)
