"""A ``limits`` storage in an SQLite file: the sign-in throttle's counters shared by every worker of one server.

``sqlite:///path/to/signin-throttle.db`` (four slashes for an absolute path, as SQLAlchemy writes them) names it in
the setting ``signin_throttle_storage``; ``ioc-catalog serve`` with several workers uses one in its ``run_dir`` by
default (:mod:`api.commands_serve`). Only the moving window (what :class:`catalog.throttle.SignInThrottle` uses) is
exact: each failure is a row (key, time), counted and added in one ``BEGIN IMMEDIATE`` transaction, so two
workers never both take the last free place; rows older than their window go when the key is next written.
Several servers share counters through a network storage instead (``redis://``, ``mongodb://``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from limits.storage import MovingWindowSupport, Storage

SCHEMA = """
CREATE TABLE IF NOT EXISTS throttle_events (key TEXT NOT NULL, atime REAL NOT NULL);
CREATE INDEX IF NOT EXISTS throttle_events_key ON throttle_events (key, atime);
"""


def path_of(uri: str) -> Path:
    """sqlite:///relative/file or sqlite:////absolute/file -> the file's path."""
    rest = uri.split("://", 1)[1] if "://" in uri else uri
    rest = rest.removeprefix("/")
    if not rest or rest == ":memory:":
        raise ValueError("a shared sign-in throttle needs a file: sqlite:////path/to/signin-throttle.db")
    return Path(rest)


class SQLiteThrottleStorage(Storage, MovingWindowSupport):
    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any):
        self.path = path_of(uri or "")
        self._local = threading.local()
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._conn()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=True)
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    # --- the moving window --------------------------------------------------------------------------------------
    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        conn = self._conn()
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM throttle_events WHERE key = ? AND atime < ?", (key, now - expiry))
            (count,) = conn.execute("SELECT COUNT(*) FROM throttle_events WHERE key = ?", (key,)).fetchone()
            if count + amount > limit:
                conn.execute("COMMIT")
                return False
            conn.executemany("INSERT INTO throttle_events VALUES (?, ?)", [(key, now)] * amount)
            conn.execute("COMMIT")
            return True
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        oldest, count = (
            self._conn()
            .execute(
                "SELECT MIN(atime), COUNT(*) FROM (SELECT atime FROM throttle_events WHERE key = ? AND atime >= ? "
                "ORDER BY atime DESC LIMIT ?)",
                (key, now - expiry, limit),
            )
            .fetchone()
        )
        return (oldest, count) if count else (now, 0)

    # --- what every limits storage has (a plain count of the key's entries) ------------------------------------
    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        conn = self._conn()
        now = time.time()
        conn.executemany("INSERT INTO throttle_events VALUES (?, ?)", [(key, now)] * amount)
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM throttle_events WHERE key = ? AND atime >= ?", (key, now - expiry)
        ).fetchone()
        return int(count)

    def get(self, key: str) -> int:
        (count,) = self._conn().execute("SELECT COUNT(*) FROM throttle_events WHERE key = ?", (key,)).fetchone()
        return int(count)

    def get_expiry(self, key: str) -> float:
        (newest,) = self._conn().execute("SELECT MAX(atime) FROM throttle_events WHERE key = ?", (key,)).fetchone()
        return float(newest) if newest is not None else time.time()

    def check(self) -> bool:
        try:
            self._conn().execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        return self._conn().execute("DELETE FROM throttle_events").rowcount

    def clear(self, key: str) -> None:
        self._conn().execute("DELETE FROM throttle_events WHERE key = ?", (key,))


__all__ = ["SQLiteThrottleStorage", "path_of"]
