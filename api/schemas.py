"""Request and response models derived from the metamodel: one typed body per kind, built when the app is created.

For each kind (``system``, ``database``, ...) :func:`kind_models` makes ``<Kind>Create`` (POST), ``<Kind>Replace``
(PUT: everything but the code) and ``<Kind>Patch`` (PATCH: every field optional; ``attributes`` merge, a null
attribute removes it). Attribute types, allowed values, bounds and required attributes come from the kind's
:class:`catalog.metamodel.AttributeSpec` list, custom attributes included. Unknown fields are refused (422 naming
the field). The catalog services validate again (one rule set); these models make the OpenAPI document precise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from catalog.metamodel import AttributeSpec, KindSpec, Metamodel
from catalog.model import CODE_PATTERN, REF_PATTERN, Entity, LocalText, LongText, Relationship, ref_pattern

ORG_PATTERN = ref_pattern(("organization",))
ENTITY_REF = REF_PATTERN
Tag = Annotated[str, Field(max_length=100)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _attr_type(a: AttributeSpec) -> Any:
    if a.type == "str":
        return Annotated[str, Field(max_length=2000)]
    if a.type == "text":
        return Annotated[str, Field(max_length=100_000)]
    if a.type == "int":
        return Annotated[
            int,
            Field(
                ge=a.minimum if a.minimum is not None else -(2**53), le=a.maximum if a.maximum is not None else 2**53
            ),
        ]
    if a.type == "bool":
        return bool
    if a.type == "date":
        return dt.date
    if a.type == "enum":
        return Literal[a.values]
    if a.type == "ref":
        return Annotated[str, Field(pattern=ref_pattern(a.ref_kinds))]
    if a.type == "list":
        return Annotated[list[Annotated[str, Field(max_length=2000)]], Field(max_length=1000)]
    raise ValueError(a.type)  # pragma: no cover - declarations are checked by the metamodel


def _title(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("_"))


@dataclass(frozen=True)
class KindModels:
    spec: KindSpec
    create: type[BaseModel]
    replace: type[BaseModel]
    patch: type[BaseModel]
    example: dict[str, Any]

    @property
    def plural(self) -> str:
        return self.spec.path


def _example_value(a: AttributeSpec) -> Any:
    return {
        "str": "…",
        "text": "…",
        "int": a.minimum or 1,
        "bool": True,
        "date": "2025-07-01",
        "enum": a.values[0] if a.values else "",
        "list": ["…"],
        "ref": f"{a.ref_kinds[0] if a.ref_kinds else 'organization'}:hcm-skhcn",
    }[a.type]


def kind_models(spec: KindSpec) -> KindModels:
    name = _title(spec.name)
    attrs_full: dict[str, Any] = {}
    attrs_patch: dict[str, Any] = {}
    for a in spec.attributes:
        t = _attr_type(a)
        desc = f"{a.label.vi} / {a.label.en}"
        attrs_full[a.name] = (
            (t, Field(... if a.required else None, description=desc))
            if a.required
            else (t | None, Field(None, description=desc))
        )
        attrs_patch[a.name] = (t | None, Field(None, description=desc + " (null removes it)"))
    full = create_model(f"{name}Attributes", __base__=Strict, **attrs_full)
    partial = create_model(f"{name}AttributesPatch", __base__=Strict, **attrs_patch)
    common: dict[str, Any] = {
        "name": (LocalText, Field(description="Tên / name: vi and/or en (one is required)")),
        "description": (LongText, Field(default_factory=LongText)),
        "valid_from": (dt.date | None, None),
        "valid_to": (dt.date | None, None),
        "tags": (Annotated[list[Tag], Field(max_length=200)], Field(default_factory=list)),
        "attributes": (full, ...),
    }
    if spec.owned:
        common["owner"] = (
            Annotated[str, Field(pattern=ORG_PATTERN)] | None,
            Field(
                None, description="Chủ quản: the owning organisation (a change is recorded in owner_history from today)"
            ),
        )
    example: dict[str, Any] = {
        "code": "hcm-vi-du",
        "name": {"vi": f"{spec.label.vi} ví dụ", "en": f"Example {spec.label.en}"},
        "tags": ["example"],
        "attributes": {a.name: _example_value(a) for a in spec.attributes if a.required},
    }
    if spec.owned:
        example["owner"] = "organization:hcm-skhcn"
    replace = create_model(f"{name}Replace", __base__=Strict, **common)
    create = create_model(
        f"{name}Create",
        __base__=Strict,
        code=(Annotated[str, Field(pattern=CODE_PATTERN)], Field(description="Mã: the code, unique within the kind")),
        **common,
    )
    patch_fields: dict[str, Any] = {k: (v[0] | None, None) for k, v in common.items() if k != "attributes"}
    patch_fields["attributes"] = (partial | None, None)
    patch = create_model(f"{name}Patch", __base__=Strict, **patch_fields)
    examples: list[tuple[type[BaseModel], dict[str, Any]]] = [
        (create, example),
        (replace, {k: v for k, v in example.items() if k != "code"}),
        (patch, {"tags": ["example", "reviewed"]}),
    ]
    for model, ex in examples:
        model.model_config["json_schema_extra"] = {"examples": [ex]}
        model.model_rebuild(force=True)
    return KindModels(spec, create, replace, patch, example)


def all_kind_models(mm: Metamodel) -> list[KindModels]:
    return [kind_models(spec) for spec in mm.kinds.values()]


class Page(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[Entity]


class RelationshipCreate(Strict):
    type: Annotated[str, Field(max_length=50, examples=["uses"])]
    source: Annotated[str, Field(pattern=ENTITY_REF, examples=["system:hcm-cong-1022"])]
    target: Annotated[str, Field(pattern=ENTITY_REF, examples=["platform:hcm-lgsp"])]
    properties: dict[str, Any] = Field(default_factory=dict)
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


class RelationshipPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[Relationship]


__all__ = [
    "CODE_PATTERN",
    "ENTITY_REF",
    "ORG_PATTERN",
    "KindModels",
    "Page",
    "RelationshipCreate",
    "RelationshipPage",
    "Strict",
    "all_kind_models",
    "kind_models",
]
