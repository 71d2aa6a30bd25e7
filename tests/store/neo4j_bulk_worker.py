"""Helper process for the kill-during-staged-load test (tests/store/test_neo4j_staged.py); not a test module.

    python tests/store/neo4j_bulk_worker.py NEO4J_URL MARKER_DIR ENTITIES [--hold]

Opens the catalog at NEO4J_URL and bulk-loads the synthetic catalog of ENTITIES entities (bench/synthetic.py, about
three relationships per entity) in one import run. The progress callback writes ``MARKER_DIR/staged`` once at least
two staged transactions have committed (progress is reported after each chunk is written); with ``--hold`` it then
sleeps, so that the test's SIGKILL lands in the middle of the run, before it is published. Without ``--hold`` the load
runs to its end and writes ``MARKER_DIR/finished``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench.synthetic import generate
from catalog.store import open_store
from catalog.store.base import BulkLoad, WriteContext
from catalog.store.neo4j.store import BATCH


def main(argv: list[str]) -> int:
    url, marker_dir, count, hold = argv[1], Path(argv[2]), int(argv[3]), "--hold" in argv[4:]
    entities, rels = generate(count, validate=False)
    store = open_store(url, create=False)
    marker_dir.mkdir(parents=True, exist_ok=True)

    def progress(done: int, total: int) -> None:
        if done >= 2 * BATCH and done < total and not (marker_dir / "staged").exists():
            (marker_dir / "staged").write_text(f"{done}/{total}\n")
            if hold:
                time.sleep(300)  # the run is half-written: wait here for the kill

    store.bulk_load(
        BulkLoad(source="synthetic", run="kill-test", entities=entities, relationships=rels),
        WriteContext(actor="bulk-worker", request_id="kill-test"),
        progress=progress,
    )
    (marker_dir / "finished").write_text("finished\n")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
