"""Property-based run over the OpenAPI document (schemathesis): every operation, authenticated as admin so writes are
exercised, with generated valid and invalid input. Zero 5xx, every status and content type documented, every
response body matching its schema. Bounded for CI: a few examples per operation, a fixed seed (derandomized)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

import schemathesis  # the test extra installs it (pyproject.toml): a missing package fails, never skips
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from api.app import create_app
from catalog.settings import Settings

from .conftest import build_catalog

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))  # per operation (74 operations: about 30 s here)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
_TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def fuzz_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    store, tokens = build_catalog(Path(tmp_path_factory.mktemp("fuzz")) / "catalog.db")
    _TOKEN["admin"] = tokens["admin"]
    app = create_app(Settings(demo=True, max_body_bytes=200_000), store=store)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    store.close()


def test_no_5xx_and_responses_match_the_schema(fuzz_schema: object) -> None:
    """Each operation in turn (one hypothesis run per operation, so a failure names its operation)."""
    headers = {"Authorization": f"Bearer {_TOKEN['admin']}"}
    failures: dict[str, str] = {}
    ran = 0
    statuses: dict[int, int] = {}
    for result in fuzz_schema.get_all_operations():  # type: ignore[attr-defined]
        operation = result.ok()

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: object) -> None:
            response = case.call_and_validate(headers=headers, checks=CHECKS)  # type: ignore[attr-defined]
            statuses[response.status_code // 100] = statuses.get(response.status_code // 100, 0) + 1

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures[operation.label] = str(exc)[:2000]
        ran += 1
    print(f"fuzz: {ran} operations, responses by class: {dict(sorted(statuses.items()))}")
    assert ran >= 50
    assert statuses.get(2, 0) > 100 and statuses.get(4, 0) > 100  # both accepted writes/reads and refusals ran
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
