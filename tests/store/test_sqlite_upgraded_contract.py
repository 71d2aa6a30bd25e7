"""The store contract (tests/store/test_contract.py) again, on a catalog file upgraded from schema 3.

The ``store`` fixture here opens a copy of tests/fixtures/sqlite_v3.db (written by the code of schema 3; the
upgrade to "each fact written once" runs on opening), then erases it: every contract test starts from an empty
catalog, in a file whose tables, indexes and free pages the upgrade left.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from store.test_contract import *  # noqa: F403 - every contract test, collected again here with the fixture below

from catalog.store.sqlite import SQLiteStore

V3 = Path(__file__).resolve().parent.parent / "fixtures" / "sqlite_v3.db"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    db = tmp_path / "upgraded.db"
    shutil.copyfile(V3, db)
    s = SQLiteStore(db)
    try:
        assert s.schema_versions() == ("4", "4") and s.revision()[0] > 0
        s.erase()
        yield s
    finally:
        s.close()
