"""Helper process for the kill-during-bulk-load test (tests/store/test_sqlite_specific.py); not a test module.

    python tests/store/bulk_worker.py STORE_FILE MARKER_DIR COUNT

Opens the catalog in STORE_FILE and bulk-loads COUNT generated systems plus a chain of ``flows_to`` relationships
between them, in one import run. The progress callback writes marker files so the test knows where the load is:

- ``MARKER_DIR/started``: the first progress call; the run's transaction is open and entities are being prepared.
- ``MARKER_DIR/written``: the first progress call after every entity row and its change-log entries were written
  inside the still-open transaction; the callback then sleeps, so a kill lands before the commit.

The test SIGKILLs this process at one of those points; the store must come back exactly as it was before the run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from catalog.model import Entity, LocalText, Relationship
from catalog.store import open_store
from catalog.store.base import BulkLoad, WriteContext

RELATIONSHIPS = 4000  # enough for progress calls in the relationship phase (every 2000 facts)


def generate(count: int) -> tuple[list[Entity], list[Relationship]]:
    template = Entity.model_validate(
        {
            "kind": "system",
            "code": "gen-0",
            "name": {"vi": "Hệ thống", "en": "System"},
            "attributes": {"lifecycle": "production"},
            "tags": ["generated"],
        }
    )
    entities = [
        template.model_copy(update={"code": f"gen-{i:06d}", "name": LocalText(vi=f"Hệ thống số {i}", en=f"System {i}")})
        for i in range(count)
    ]
    rels = [
        Relationship(type="flows_to", source=entities[i].ref, target=entities[i + 1].ref)
        for i in range(min(RELATIONSHIPS, count - 1))
    ]
    return entities, rels


def main(argv: list[str]) -> int:
    store_file, marker_dir, count = Path(argv[1]), Path(argv[2]), int(argv[3])
    entities, rels = generate(count)
    store = open_store(f"sqlite:///{store_file}", create=False)
    marker_dir.mkdir(parents=True, exist_ok=True)

    def progress(done: int, total: int) -> None:
        if not (marker_dir / "started").exists():
            (marker_dir / "started").write_text(f"{done}/{total}\n")
        if done > len(entities) and not (marker_dir / "written").exists():
            (marker_dir / "written").write_text(f"{done}/{total}\n")
            time.sleep(120)  # hold the open transaction until the test kills us

    store.bulk_load(
        BulkLoad(source="generated", run="kill-test", entities=entities, relationships=rels),
        WriteContext(actor="bulk-worker", request_id="kill-test"),
        progress=progress,
    )
    (marker_dir / "finished").write_text("finished\n")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
