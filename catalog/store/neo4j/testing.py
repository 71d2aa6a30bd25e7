"""Test support: empty a Neo4j database between tests, and copy a whole graph to and from JSON. Never used by the
catalog itself.

:func:`erase_database` deletes every node and relationship of the database (constraints and indexes stay, so the next
store opens fast). :func:`export_graph` and :func:`load_graph` copy the raw graph (every node's labels and
properties, every relationship's type, ends and properties) to and from a JSON document, whatever the catalog code
of the day makes of it: the upgrade tests keep a database written by an earlier layout as such a fixture
(tests/fixtures/) and load it raw into an empty database. Point them only at a throw-away server such as the one
``tools/neo4j/neo4j.sh`` starts.
"""

from __future__ import annotations

import re
from typing import Any

from neo4j import GraphDatabase

FORMAT = "ioc-catalog-neo4j-raw-graph"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")  # labels and relationship types a fixture may name
_KEY = "__fixture_node"  # the temporary property that ties a loaded relationship to its ends


def _driver(url: str, user: str | None, password: str | None) -> Any:
    return GraphDatabase.driver(url, auth=(user, password or "") if user else None)


def erase_database(url: str, user: str | None = None, password: str | None = None, database: str = "neo4j") -> None:
    """Delete everything in ``database`` (in batches, so a large leftover graph does not exhaust memory)."""
    with _driver(url, user, password) as driver:
        with driver.session(database=database) as session:
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def export_graph(
    url: str, user: str | None = None, password: str | None = None, database: str = "neo4j"
) -> dict[str, Any]:
    """The raw graph as a JSON-ready document: ``nodes`` (``id``, sorted ``labels``, ``properties``) and
    ``relationships`` (``type``, ``start``, ``end`` node ids, ``properties``), in a stable order (nodes by labels and
    properties; ids are positions in that order)."""
    with _driver(url, user, password) as driver:
        with driver.session(database=database) as session:
            nodes = session.run(
                "MATCH (n) RETURN elementId(n) AS eid, labels(n) AS labels, properties(n) AS props"
            ).data()
            rels = session.run(
                "MATCH (a)-[r]->(b) RETURN elementId(a) AS a, elementId(b) AS b, type(r) AS type, "
                "properties(r) AS props"
            ).data()

    def node_key(n: dict[str, Any]) -> tuple:
        return (sorted(n["labels"]), sorted((k, repr(v)) for k, v in n["props"].items()))

    nodes.sort(key=node_key)
    ids = {n["eid"]: i for i, n in enumerate(nodes)}
    out_rels = [
        {"type": r["type"], "start": ids[r["a"]], "end": ids[r["b"]], "properties": dict(sorted(r["props"].items()))}
        for r in rels
    ]
    out_rels.sort(
        key=lambda r: (r["type"], r["start"], r["end"], sorted((k, repr(v)) for k, v in r["properties"].items()))
    )
    return {
        "format": FORMAT,
        "nodes": [
            {"id": i, "labels": sorted(n["labels"]), "properties": dict(sorted(n["props"].items()))}
            for i, n in enumerate(nodes)
        ],
        "relationships": out_rels,
    }


def load_graph(
    url: str,
    graph: dict[str, Any],
    user: str | None = None,
    password: str | None = None,
    database: str = "neo4j",
    batch: int = 5000,
) -> None:
    """Write a document of :func:`export_graph` raw into ``database``, which must hold no node (refused
    otherwise): the same labels, properties, relationship types, ends and properties, nothing interpreted."""
    if graph.get("format") != FORMAT:
        raise ValueError(f"not a raw graph document (format {graph.get('format')!r})")
    by_labels: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for n in graph["nodes"]:
        labels = tuple(n["labels"])
        if not labels or not all(_NAME.match(x) for x in labels):
            raise ValueError(f"node {n['id']}: labels {labels!r} are not plain names")
        by_labels.setdefault(labels, []).append({"id": n["id"], "props": n["properties"]})
    by_type: dict[str, list[dict[str, Any]]] = {}
    for r in graph["relationships"]:
        if not _NAME.match(r["type"]):
            raise ValueError(f"relationship type {r['type']!r} is not a plain name")
        by_type.setdefault(r["type"], []).append({"a": r["start"], "b": r["end"], "props": r["properties"]})
    with _driver(url, user, password) as driver:
        with driver.session(database=database) as session:
            if session.run("MATCH (n) RETURN 1 AS x LIMIT 1").peek() is not None:
                raise ValueError("the database is not empty")
            for labels, rows in by_labels.items():
                label = ":".join(labels)
                for i in range(0, len(rows), batch):
                    session.run(
                        f"UNWIND $rows AS row CREATE (n:{label}) SET n = row.props, n.{_KEY} = row.id",
                        rows=rows[i : i + batch],
                    ).consume()
            for t, rows in by_type.items():
                for i in range(0, len(rows), batch):
                    session.run(
                        f"UNWIND $rows AS row MATCH (a {{{_KEY}: row.a}}) MATCH (b {{{_KEY}: row.b}}) "
                        f"CREATE (a)-[r:{t}]->(b) SET r = row.props",
                        rows=rows[i : i + batch],
                    ).consume()
            session.run(f"MATCH (n) WHERE n.{_KEY} IS NOT NULL REMOVE n.{_KEY}").consume()


def set_property(
    url: str,
    label: str,
    key: str,
    value: Any,
    prop: str,
    new: Any,
    user: str | None = None,
    password: str | None = None,
    database: str = "neo4j",
) -> int:
    """Set ``prop`` to ``new`` on the nodes labelled ``label`` whose ``key`` is ``value`` (or, when ``label`` is a
    relationship type in upper case, on those relationships), behind any catalog's back: tamper tests. Returns the
    number changed."""
    if not (_NAME.match(label) and _NAME.match(key) and _NAME.match(prop)):
        raise ValueError("label, key and property must be plain names")
    pattern = f"()-[x:{label}]->()" if label.isupper() else f"(x:{label})"
    with _driver(url, user, password) as driver:
        records, _, _ = driver.execute_query(
            f"MATCH {pattern} WHERE x.{key} = $value SET x.{prop} = $new RETURN count(x) AS n",
            value=value,
            new=new,
            database_=database,
        )
    return records[0]["n"]


__all__ = ["erase_database", "export_graph", "load_graph", "set_property"]
