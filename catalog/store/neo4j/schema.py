"""The Neo4j graph layout, derived from the metamodel, and the idempotent schema set-up.

Layout:

- ``(:Entity:<Kind> {ref, kind, owner, lifecycle, version, prov_source, created_at, updated_at, data, tags,
  search_name, search_body, attr_<name>...})``: one node per entity; ``data`` is the canonical JSON of its content,
  exactly the text the change log records (as in the SQLite backend); the other properties are bookkeeping and the
  indexes and filters derived from the content. ``<Kind>`` is the metamodel kind in PascalCase (``System``).
- ``(a)-[:<TYPE> {id, in_key, version, prov_source, created_at, updated_at, data}]->(b)``: one real relationship per
  catalog relationship; ``<TYPE>`` is the metamodel relationship name in upper case (``READS``); ``id`` is
  ``source>type>target``, unique per type; ``in_key`` is ``target>id``. Both are indexed, so an entity's outgoing
  relationships of a type come out of the ``id`` index (prefix ``source>type>``) and its incoming ones out of the
  ``in_key`` index (prefix ``target>``), each already in id order: the neighbourhood walk reads a hub's first
  relationships without expanding and sorting all its thousands (schema 2; opening a schema-1 database adds
  ``in_key`` and drops the schema-1 index on a relationship's ``prov_source``).
- ``(:OrgEvent {id, date, version, prov_source, data, orgs})``: organisation events.
- ``(:ChangeEntry {seq, time, actor, request_id, op, ref, before, after, prev_hash, hash})``: the change log;
  ``before``/``after`` are canonical JSON strings. Schema 3 ("each fact written once", docs/architecture.md): an
  entry about an entity or a relationship, other than a delete, is written without ``after``; a read derives it (the
  ``before`` of the ref's next entry, else the fact's current ``data``: ``Neo4jStore._derive``). Entries with a
  stored ``after`` (records, organisation events, deletes, and those written before schema 3 until the upgrade on
  open removes the ones equal to their derivation) read as they are.
- ``(:Record {rid, collection, key, version, updated_at, data})``: documents beside the graph (users, tokens,
  drafts, import runs); ``rid`` is ``collection/key``; ``data`` is canonical JSON.
- ``(:LogHead {id: 'head', seq, hash, time})``: the head of the change log, written in the same transaction as the
  entries. Every write transaction locks it first, which serialises writers (one chain, optimistic concurrency).
- ``(:CatalogMeta {key: 'schema', version})``: marks the database as a catalog.
- ``pub`` (entities and relationships written by a staged load only): the seq of the fact's change-log entry; a
  reader sees the fact once ``LogHead.seq`` has reached it (see ``Neo4jStore.bulk_load``). Written with the fact
  and dropped by its next update; no index (and no schema change: a fact without ``pub`` is seen as before).

Labels and relationship types are interpolated into Cypher only through :func:`kind_label` and :func:`rel_type`,
which accept nothing but names the metamodel declares (and that are plain identifiers); every value is a parameter.
"""

from __future__ import annotations

import re

from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import msg
from catalog.metamodel import Metamodel

SCHEMA_VERSION = "3"
UPGRADES_FROM = ("1", "2")  # schema versions that opening the database upgrades (see Neo4jStore._upgrade)
DROPPED_INDEXES = ("ioc_rel_{low}_source",)  # schema-1 indexes, per stored type, that the upgrade drops
SEARCH_INDEX = "ioc_entity_search"  # the full-text index of entities' folded search text
RESERVED_LABELS = {"Entity", "OrgEvent", "ChangeEntry", "LogHead", "CatalogMeta", "Record"}
_IDENT = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def kind_label(mm: Metamodel, kind: str) -> str | None:
    """The node label of a kind the metamodel declares (``system`` -> ``System``); None for anything else."""
    if kind not in mm.kinds or not _IDENT.match(kind):
        return None
    label = "".join(part.capitalize() for part in kind.split("_") if part)
    return None if label in RESERVED_LABELS else label


def rel_type(mm: Metamodel, name: str) -> str:
    """The Neo4j relationship type of a stored relationship kind (``reads`` -> ``READS``); refuses anything else."""
    spec = mm.relations.get(name)
    if spec is None or spec.derived or not _IDENT.match(name):
        raise ValidationFailed(
            [
                FieldError(
                    "type", msg("relation-type-unknown-stored", type=name, allowed=", ".join(mm.stored_relations()))
                )
            ]
        )
    return name.upper()


def known_rel_type(mm: Metamodel, name: str) -> str | None:
    """Like :func:`rel_type`, but None for a name the metamodel does not declare (reads find nothing)."""
    try:
        return rel_type(mm, name)
    except ValidationFailed:
        return None


def stored_types(mm: Metamodel) -> list[str]:
    return [rel_type(mm, r) for r in mm.stored_relations() if _IDENT.match(r)]


def schema_statements(mm: Metamodel) -> dict[str, str]:
    """Every constraint and index, by name; each statement is idempotent (IF NOT EXISTS)."""
    out = {
        "ioc_entity_ref": "CREATE CONSTRAINT ioc_entity_ref IF NOT EXISTS FOR (n:Entity) REQUIRE n.ref IS UNIQUE",
        "ioc_change_seq": "CREATE CONSTRAINT ioc_change_seq IF NOT EXISTS FOR (c:ChangeEntry) REQUIRE c.seq IS UNIQUE",
        "ioc_event_id": "CREATE CONSTRAINT ioc_event_id IF NOT EXISTS FOR (e:OrgEvent) REQUIRE e.id IS UNIQUE",
        "ioc_loghead_id": "CREATE CONSTRAINT ioc_loghead_id IF NOT EXISTS FOR (h:LogHead) REQUIRE h.id IS UNIQUE",
        "ioc_record_rid": "CREATE CONSTRAINT ioc_record_rid IF NOT EXISTS FOR (r:Record) REQUIRE r.rid IS UNIQUE",
        "ioc_record_updated": "CREATE INDEX ioc_record_updated IF NOT EXISTS FOR (r:Record) ON (r.collection, "
        "r.updated_at)",
        "ioc_meta_key": "CREATE CONSTRAINT ioc_meta_key IF NOT EXISTS FOR (m:CatalogMeta) REQUIRE m.key IS UNIQUE",
        # (kind, ref): a kind's entities come out of the index already in ref order, so a page needs no sort
        "ioc_entity_kind_ref": "CREATE INDEX ioc_entity_kind_ref IF NOT EXISTS FOR (n:Entity) ON (n.kind, n.ref)",
        "ioc_entity_owner": "CREATE INDEX ioc_entity_owner IF NOT EXISTS FOR (n:Entity) ON (n.owner)",
        "ioc_entity_lifecycle": "CREATE INDEX ioc_entity_lifecycle IF NOT EXISTS FOR (n:Entity) ON (n.lifecycle)",
        "ioc_entity_source": "CREATE INDEX ioc_entity_source IF NOT EXISTS FOR (n:Entity) ON (n.prov_source)",
        "ioc_change_ref": "CREATE INDEX ioc_change_ref IF NOT EXISTS FOR (c:ChangeEntry) ON (c.ref, c.seq)",
        "ioc_change_time": "CREATE INDEX ioc_change_time IF NOT EXISTS FOR (c:ChangeEntry) ON (c.time)",
        "ioc_change_request": "CREATE INDEX ioc_change_request IF NOT EXISTS FOR (c:ChangeEntry) ON (c.request_id)",
        "ioc_event_date": "CREATE INDEX ioc_event_date IF NOT EXISTS FOR (e:OrgEvent) ON (e.date)",
        # search (Neo4jStore.search): the folded words, already lower-case, split at spaces only; the kind as a term;
        # written with the transaction, so a search right after a write finds it
        SEARCH_INDEX: f"CREATE FULLTEXT INDEX {SEARCH_INDEX} IF NOT EXISTS FOR (n:Entity) "
        "ON EACH [n.search_name, n.search_body, n.kind] OPTIONS {indexConfig: {`fulltext.analyzer`: 'whitespace', "
        "`fulltext.eventually_consistent`: false}}",
    }
    for t in stored_types(mm):
        low = t.lower()
        out[f"ioc_rel_{low}_id"] = (
            f"CREATE CONSTRAINT ioc_rel_{low}_id IF NOT EXISTS FOR ()-[r:{t}]-() REQUIRE r.id IS UNIQUE"
        )
        out[f"ioc_rel_{low}_in"] = f"CREATE INDEX ioc_rel_{low}_in IF NOT EXISTS FOR ()-[r:{t}]-() ON (r.in_key)"
        # no index on a relationship's prov_source (schema 1 had one): only a clean-up import asks for it, and it
        # slowed every bulk load (docs/architecture.md, "Measured choices")
    return out


__all__ = [
    "DROPPED_INDEXES",
    "RESERVED_LABELS",
    "SEARCH_INDEX",
    "SCHEMA_VERSION",
    "UPGRADES_FROM",
    "kind_label",
    "known_rel_type",
    "rel_type",
    "schema_statements",
    "stored_types",
]
