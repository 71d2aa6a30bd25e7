"""Entities and relationships read from their stored JSON (``store.graph_json``) with only what drawing needs parsed.

A view reads a dozen fields of every fact in the catalog (kind, name, owner on a day, validity, a few attributes and
properties). Building the full pydantic models to read them was most of a cold diagram: about 20 to 50 µs a fact,
0.4 s for a 5,000-entity catalog and its 15,000 relationships, whose DOT Graphviz lays out in 0.06 s. Here orjson
parses the stored text and the fields views read are plain attributes; everything else (description, tags,
owner_history, provenance, ``content()``, ``model_dump()``...) comes from the full :class:`~catalog.model.Entity` /
:class:`~catalog.model.Relationship`, validated from the same data on first use. So these objects answer every
question the models answer, with the same values (tested against the models on the sample catalog).

Relationships are parsed lazily: a view walks thousands of them by type and ends, and looks at the properties of a
few. The stored text is canonical JSON (sorted keys, compact), so it starts with the id ``{"id":"<source>><type>>
<target>"`` and, when the relationship is valid at all times, ends with ``"valid_from":null,"valid_to":null}`` (the
last two keys): type, ends and validity are read from the text, and the JSON is parsed only when something else is
asked (or at once for a relationship with validity dates, or text not in that form, or an id with an escape).

Parsing leaves Python's garbage collector alone. Pausing it (``gc.disable()``) made parsing a large catalog faster
(fewer full collections while tens of thousands of small dicts are built) but switched it off for the whole process:
in the threaded server every other request's garbage waited, and two overlapping parses could leave it off or turn
it back on under each other. bench/README.md gives what it costs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from catalog.model import Entity, LocalText, Relationship


def _day(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


_DAY_TEXT: dict[dt.date, str] = {}


def _day_text(day: dt.date) -> str:
    if len(_DAY_TEXT) > 1000:
        _DAY_TEXT.clear()
    text = _DAY_TEXT[day] = day.isoformat()
    return text


def _state(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "provenance"}


class EntityFacts:
    """An entity from its stored content JSON (see the module docstring)."""

    __slots__ = ("data", "ref", "kind", "code", "attributes", "valid_from", "valid_to", "_name", "_full")

    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.kind, self.code = data["kind"], data["code"]
        self.ref = f"{self.kind}:{self.code}"
        self.attributes: dict[str, Any] = data["attributes"]
        self.valid_from, self.valid_to = _day(data["valid_from"]), _day(data["valid_to"])
        self._name: LocalText | None = None
        self._full: Entity | None = None

    @property
    def name(self) -> LocalText:
        if self._name is None:
            self._name = LocalText(**self.data["name"])
        return self._name

    def owner_on(self, day: dt.date) -> str | None:
        """As :meth:`Entity.owner_on`, on the stored periods (ISO dates order as their text does)."""
        text = _DAY_TEXT.get(day) or _day_text(day)
        for p in self.data["owner_history"]:
            if (p["start"] is None or p["start"] <= text) and (p["end"] is None or text < p["end"]):
                return p["org"]
        return None

    def state(self) -> dict[str, Any]:
        """What the entity says, without provenance: two entities with equal states say the same thing."""
        return _state(self.data)

    @property
    def full(self) -> Entity:
        if self._full is None:
            self._full = Entity.model_validate(self.data)
        return self._full

    def __getattr__(self, name: str) -> Any:  # anything not parsed here: from the full model
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.full, name)

    def __repr__(self) -> str:
        return f"EntityFacts({self.ref})"


_ID = '{"id":"'
_ALWAYS = ',"valid_from":null,"valid_to":null}'


class RelationshipFacts:
    """A relationship from its stored content JSON, parsed when first needed (see the module docstring)."""

    __slots__ = ("text", "id", "type", "source", "target", "valid_from", "valid_to", "_data", "_full")

    def __init__(self, text: str):
        self.text = text
        self._data: dict[str, Any] | None = None
        self._full: Relationship | None = None
        rid = text[len(_ID) : text.find('"', len(_ID))] if text.startswith(_ID) else ""
        parts = rid.split(">")
        if len(parts) == 3 and "\\" not in rid:
            self.id, (self.source, self.type, self.target) = rid, parts
        else:
            d = self.data
            self.id, self.type, self.source, self.target = d["id"], d["type"], d["source"], d["target"]
        if text.endswith(_ALWAYS):
            self.valid_from = self.valid_to = None
        else:
            self.valid_from, self.valid_to = _day(self.data["valid_from"]), _day(self.data["valid_to"])

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = orjson.loads(self.text)
        return self._data

    @property
    def properties(self) -> dict[str, Any]:
        return self.data["properties"]

    def state(self) -> dict[str, Any]:
        return _state(self.data)

    @property
    def full(self) -> Relationship:
        if self._full is None:
            self._full = Relationship.model_validate(self.data)
        return self._full

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.full, name)

    def __repr__(self) -> str:
        return f"RelationshipFacts({self.id})"


def parse_graph(
    entities: list[str], relationships: list[str]
) -> tuple[dict[str, EntityFacts], list[RelationshipFacts]]:
    """``store.graph_json`` / ``store.part_json`` text to facts: entities by ref, relationships (in no particular
    order)."""
    loads = orjson.loads
    ents = [EntityFacts(loads(t)) for t in entities]
    return {e.ref: e for e in ents}, [RelationshipFacts(t) for t in relationships]


__all__ = ["EntityFacts", "RelationshipFacts", "parse_graph"]
