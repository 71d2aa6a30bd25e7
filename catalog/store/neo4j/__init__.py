"""The Neo4j server backend (Neo4j 5 through the official driver)."""

from catalog.store.neo4j.store import Neo4jStore

__all__ = ["Neo4jStore"]
