"""The embedded SQLite backend (the default)."""

from catalog.store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
