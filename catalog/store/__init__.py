"""Persistence: the CatalogStore contract (base.py) and its backends, chosen by URL.

``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (the embedded default) and, from the Neo4j backend
on, ``neo4j://host:7687`` / ``bolt://`` / ``neo4j+s://``.
"""

from __future__ import annotations

from catalog.errors import FieldError, StoreError, ValidationFailed
from catalog.metamodel import DEFAULT, Metamodel
from catalog.store.base import CatalogStore

DEFAULT_URL = "sqlite:///ioc-catalog.db"


def sqlite_path(url: str) -> str:
    if not url.startswith("sqlite:///") or len(url) <= len("sqlite:///"):
        raise ValidationFailed([FieldError("store", f"'{url}' is not a sqlite:///path URL")])
    return url[len("sqlite:///"):]


def open_store(url: str = DEFAULT_URL, metamodel: Metamodel = DEFAULT, create: bool = True) -> CatalogStore:
    """Open the store a URL names."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "sqlite":
        from catalog.store.sqlite import SQLiteStore

        return SQLiteStore(sqlite_path(url), metamodel=metamodel, create=create)
    if scheme in ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"):
        raise StoreError("the Neo4j backend is not part of this version yet (see docs/architecture.md)")
    raise ValidationFailed([FieldError("store", f"unsupported store URL '{url}': use sqlite:///file.db")])


__all__ = ["CatalogStore", "DEFAULT_URL", "open_store"]
