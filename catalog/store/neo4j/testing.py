"""Test support: empty a Neo4j database between tests. Never used by the catalog itself.

Deletes every node and relationship of the database (constraints and indexes stay, so the next store opens fast).
Point it only at a throw-away server such as the one ``tools/neo4j/neo4j.sh`` starts.
"""

from __future__ import annotations

from neo4j import GraphDatabase


def erase_database(url: str, user: str | None = None, password: str | None = None, database: str = "neo4j") -> None:
    """Delete everything in ``database`` (in batches, so a large leftover graph does not exhaust memory)."""
    with GraphDatabase.driver(url, auth=(user, password or "") if user else None) as driver:
        with driver.session(database=database) as session:
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


__all__ = ["erase_database"]
