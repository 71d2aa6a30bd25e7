"""Persistence: the CatalogStore contract (base.py) and its backends, chosen by URL.

``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (the embedded default), or a Neo4j 5 server:
``neo4j://host:7687`` / ``neo4j+s://`` / ``bolt://`` / ``bolt+s://`` (credentials from ``IOC_CATALOG_NEO4J_USER`` and
``IOC_CATALOG_NEO4J_PASSWORD``; none means no authentication).
"""

from __future__ import annotations

from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import msg
from catalog.metamodel import DEFAULT, Metamodel
from catalog.store.base import CatalogStore

DEFAULT_URL = "sqlite:///ioc-catalog.db"


def sqlite_path(url: str) -> str:
    if not url.startswith("sqlite:///") or len(url) <= len("sqlite:///"):
        raise ValidationFailed([FieldError("store", msg("store-url-not-sqlite", url=url))])
    return url[len("sqlite:///") :]


def open_store(
    url: str = DEFAULT_URL, metamodel: Metamodel = DEFAULT, create: bool = True, head_witness: str | None = None
) -> CatalogStore:
    """Open the store a URL names. ``head_witness``: a file outside the store that receives every committed
    change-log head, one line each, and that ``verify_log`` checks (the ``IOC_CATALOG_HEAD_WITNESS`` setting)."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    witness = None
    if head_witness:
        from catalog.changelog import HeadWitness

        witness = HeadWitness(head_witness)
    if scheme == "sqlite":
        from pathlib import Path

        from catalog.store.sqlite import SQLiteStore

        path = sqlite_path(url)
        if witness is not None and witness.path.resolve() in {
            Path(f"{path}{suffix}").resolve() for suffix in ("", "-wal", "-shm", "-journal")
        }:
            raise ValidationFailed([FieldError("head_witness", msg("head-witness-inside-store"))])
        return SQLiteStore(path, metamodel=metamodel, create=create, head_witness=witness)
    if scheme in ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"):
        import os

        from catalog.store.neo4j import Neo4jStore

        # credentials come from the environment only, never from the URL (which ends up in logs and settings)
        return Neo4jStore(
            url,
            metamodel=metamodel,
            user=os.environ.get("IOC_CATALOG_NEO4J_USER") or None,
            password=os.environ.get("IOC_CATALOG_NEO4J_PASSWORD") or None,
            create=create,
            head_witness=witness,
        )
    raise ValidationFailed([FieldError("store", msg("store-url-unsupported", url=url))])


__all__ = ["CatalogStore", "DEFAULT_URL", "open_store"]
