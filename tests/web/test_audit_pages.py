"""The change-log and integrity pages over HTTP (no browser): hostile filters and forms answer 4xx with the field
named, never 5xx; only the roles that read history see them; the integrity checks need the form's CSRF token."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from web.uitest import PASSWORD, build_catalog

from api.app import create_app
from catalog.settings import Settings
from catalog.store import CatalogStore


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogStore]:
    from catalog.store import open_store

    s = open_store(build_catalog(tmp_path_factory.mktemp("audit") / "catalog.db"))
    yield s
    s.close()


def _client(store: CatalogStore, user: str | None, **settings: object) -> TestClient:
    c = TestClient(create_app(Settings(demo=True, **settings), store=store))  # type: ignore[arg-type]
    if user:
        token = re.search(r'name="csrf" value="([0-9a-f]{64})"', c.get("/signin").text).group(1)  # type: ignore[union-attr]
        r = c.post("/signin", data={"csrf": token, "name": user, "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 303
    return c


def _csrf(c: TestClient) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', c.get("/integrity").text).group(1)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "query",
    [
        "op=rename",
        "kind=<script>",
        "before=-1",
        "before=99999999999999999999",
        "since=2025-02-30",
        "until=yesterday",
        "org=" + "x" * 5000,
        "actor=%00%ff",
        "ref=rel:a>b>c&format=xlsx",
        "format=pdf",
    ],
)
def test_hostile_filters_never_answer_5xx(store: CatalogStore, query: str) -> None:
    r = _client(store, "auditor").get(f"/changes?{query}")
    assert r.status_code in (200, 422), r.text[:300]
    if r.status_code == 422:
        field = query.split("=")[0]
        assert field in r.text or {"before": "before", "since": "since", "until": "until"}[field] in r.text


def test_a_page_of_the_log_goes_on_with_older_entries(store: CatalogStore) -> None:
    c = _client(store, "auditor")
    first = c.get("/changes").text
    seqs = [int(x) for x in re.findall(r'data-seq="(\d+)"', first)]
    assert len(seqs) == 100 and seqs == sorted(seqs, reverse=True)
    older = re.search(r'id="older" href="([^"]+)"', first).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    nxt = [int(x) for x in re.findall(r'data-seq="(\d+)"', c.get(older).text)]
    assert nxt and max(nxt) < min(seqs)


def test_only_history_readers_and_csrf(store: CatalogStore) -> None:
    assert _client(store, None).get("/integrity", follow_redirects=False).status_code in (303, 403)  # sign in first
    for user in ("viewer", "editor-skhcn"):
        c = _client(store, user)
        assert c.get("/integrity").status_code == 403 and c.get("/changes").status_code == 403
    c = _client(store, "auditor")
    assert c.post("/integrity/verify", data={"csrf": "x"}).status_code == 403
    assert c.post("/integrity/check", data={"csrf": "x", "head": "{}"}).status_code == 403
    token = _csrf(c)
    r = c.post("/integrity/check", data={"csrf": token})
    assert r.status_code == 422 and "Chọn một tệp hoặc dán một đầu chuỗi" in r.text
    r = c.post("/integrity/check", data={"csrf": token, "head": '{"seq": 1, "hash": "' + "z" * 64 + '"}'})
    assert r.status_code == 200 and "Đây không phải một đầu chuỗi" in r.text
    r = c.post("/integrity/verify", data={"csrf": token})
    assert r.status_code == 200 and "Chuỗi nguyên vẹn" in r.text


def test_uploads_that_are_not_bundles(store: CatalogStore) -> None:
    c = _client(store, "auditor", max_import_bytes=4096)
    token = _csrf(c)
    r = c.post("/integrity/check", data={"csrf": token}, files={"bundle": ("b.zip", b"not a zip", "application/zip")})
    assert r.status_code == 200 and "KHÔNG hợp lệ" in r.text
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("manifest.json", "{}")
    r = c.post(
        "/integrity/check", data={"csrf": token}, files={"bundle": ("b.zip", empty.getvalue(), "application/zip")}
    )
    assert r.status_code == 200 and "KHÔNG hợp lệ" in r.text and "manifest.json" in r.text
    r = c.post("/integrity/check", data={"csrf": token}, files={"bundle": ("b.zip", b"x" * 5000, "application/zip")})
    assert r.status_code in (413, 422) and r.status_code < 500


def test_the_xlsx_download_holds_the_rows_the_csv_holds(store: CatalogStore) -> None:
    from openpyxl import load_workbook

    c = _client(store, "auditor")
    query = "/changes?kind=organization&op=create&lang=en"
    csv_rows = c.get(query + "&format=csv").content.decode("utf-8-sig").splitlines()
    r = c.get(query + "&format=xlsx")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("#", "When (UTC)", "Who", "Proposed by", "Operation")
    assert len(rows) == len(csv_rows) > 10
    assert {row[4] for row in rows[1:]} == {"Created"} and any(row[7] == "Organisation type" for row in rows[1:])
