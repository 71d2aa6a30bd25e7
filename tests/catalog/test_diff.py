"""The auditor's time machine on the sample catalog: the catalog on a date (both clocks), what changed between two
dates (catalog.history.diff) through the service, the command line and the API, and the audit bundle for a period.

Store-touching tests run on every backend (``sample`` is parametrised like ``store``)."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import BACKENDS, SAMPLE, FakeClock, make_store
from typer.testing import CliRunner

from catalog.errors import ValidationFailed
from catalog.history.diff import diff
from catalog.history.listing import entities_on
from catalog.history.snapshot import NothingRecorded, clear_cache
from catalog.services import CatalogService
from catalog.store.base import CatalogStore
from importers.base import run_import

BEFORE, AFTER = "2025-02-01", "2025-08-01"
BUILT = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)  # the record starts when the catalog is built (as the demo's)


@pytest.fixture(scope="module", params=BACKENDS)
def sample(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogStore]:
    store = make_store(request.param, tmp_path_factory.mktemp("diff"))
    store.clock = FakeClock(BUILT)
    report = run_import(store, SAMPLE)
    assert report.loaded and not report.rejected
    clear_cache()
    yield store
    store.close()


def refs(listing: object) -> dict[str, object]:
    return {x.ref: x for x in listing.items}  # type: ignore[attr-defined]


def test_valid_on_lists_the_city_before_and_after_the_mergers(sample: CatalogStore) -> None:
    before = refs(entities_on(sample, "organization", BEFORE))
    after = refs(entities_on(sample, "organization", AFTER))
    for org in ("organization:hcm-sttt", "organization:bd-sttt", "organization:brvt-sttt", "organization:bd-ubnd"):
        assert org in before and org not in after
    assert "organization:hcm-snnmt" in after and "organization:hcm-snnmt" not in before  # created by the merger
    ended = refs(entities_on(sample, "organization", AFTER, include_ended=True))["organization:hcm-sttt"]
    assert ended.status == "merged" and ended.into == ("organization:hcm-skhcn",)  # type: ignore[attr-defined]
    assert ended.event == "hcm-2025-03-sttt-into-skhcn" and "HĐND TP.HCM" in ended.legal_basis  # type: ignore[attr-defined]
    systems = refs(entities_on(sample, "system", BEFORE))
    assert systems["system:hcm-cong-1022"].owner == "organization:hcm-sttt"  # type: ignore[attr-defined]
    assert refs(entities_on(sample, "system", AFTER))["system:hcm-cong-1022"].owner == "organization:hcm-skhcn"  # type: ignore[attr-defined]


def test_a_record_instant_before_the_first_record_explains_itself(sample: CatalogStore) -> None:
    with pytest.raises(NothingRecorded) as exc:
        entities_on(sample, "organization", BEFORE, recorded_at=BEFORE)
    vi, en = exc.value.text("vi"), exc.value.text("en")
    assert "2026-12-01" in en and "--valid-on" in en and "valid on" in en
    assert "ngày hiệu lực" in vi and "record" not in vi
    # an instant after the load reads the record at that instant: the same city
    later = entities_on(sample, "organization", BEFORE, recorded_at="2026-12-02T00:00:00Z")
    assert "organization:hcm-sttt" in refs(later)


def test_diff_lists_the_move_of_1022_with_the_merger_that_caused_it(sample: CatalogStore) -> None:
    d = diff(sample, BEFORE, AFTER)
    move = next(m for m in d.moved if m.ref == "system:hcm-cong-1022")
    assert (move.from_owner, move.to_owner) == ("organization:hcm-sttt", "organization:hcm-skhcn")
    assert move.event == "hcm-2025-03-sttt-into-skhcn" and move.event_type == "absorb" and move.date == "2025-03-01"
    assert move.legal_basis.startswith("Nghị quyết của HĐND TP.HCM")
    orgs = {(o.ref, o.change) for o in d.organisations}
    assert ("organization:hcm-sttt", "merged") in orgs and ("organization:hcm-quan1", "dissolved") in orgs
    assert ("organization:bd-ubnd", "merged") in orgs and ("organization:hue-ubnd", "renamed") not in orgs  # Jan
    merged = next(o for o in d.organisations if o.ref == "organization:bd-skhcn")
    assert merged.into == ("organization:hcm-skhcn",) and merged.date == "2025-07-01"
    removed = {x.ref: x for x in d.removed}
    assert removed["organization:hcm-sttt"].reason == "ended" and removed["organization:hcm-sttt"].date == "2025-03-01"
    assert not d.changed  # one record on both days: only validity and ownership differ
    renamed = next(o for o in diff(sample, "2024-12-01", BEFORE).organisations if o.change == "renamed")
    assert renamed.ref == "organization:hue-ubnd" and renamed.new_name["vi"] == "UBND thành phố Huế"  # type: ignore[index]
    assert renamed.event == "hue-2025-01-rename-tp-hue" and renamed.date == "2025-01-01"
    # nothing changes between two days with no event between them
    assert diff(sample, "2025-04-01", "2025-05-01").empty


def test_diff_filters_by_organisation_and_kind(sample: CatalogStore) -> None:
    d = diff(sample, BEFORE, AFTER, org="organization:hcm-sttt", kind="system")
    assert d.moved and all(m.kind == "system" for m in d.moved)
    assert all("organization:hcm-sttt" in (m.from_owner, m.to_owner) for m in d.moved)
    assert not d.organisations and not d.added
    whole = diff(sample, BEFORE, AFTER)
    assert len(d.moved) < len(whole.moved)
    with pytest.raises(ValidationFailed) as exc:
        diff(sample, AFTER, BEFORE)
    assert exc.value.errors[0].location == "from"
    with pytest.raises(ValidationFailed):
        diff(sample, BEFORE, "2025-13-01")
    with pytest.raises(ValidationFailed) as exc:
        diff(sample, BEFORE, AFTER, kind="spaceship")
    assert exc.value.errors[0].location == "kind"


def test_diff_between_two_records_shows_fields_before_and_after(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    store.clock = FakeClock(BUILT)
    run_import(store, SAMPLE)
    clock = FakeClock(dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC))
    store.clock = clock
    svc = CatalogService(store)
    e = store.get_entity("system:hcm-cong-1022")
    svc.patch(e.ref, {"attributes": {"lifecycle": "retiring"}}, e.version)
    today = "2026-12-04"
    d = diff(store, today, today, recorded_from="2026-12-02", recorded_to="2026-12-04")
    change = next(x for x in d.changed if x.ref == "system:hcm-cong-1022")
    fields = {f.field: (f.before, f.after) for f in change.fields}
    assert fields["attributes.lifecycle"] == ("production", "retiring")
    store.close()


def test_exports_are_the_same_rows_in_both_languages(sample: CatalogStore) -> None:
    import io

    from openpyxl import load_workbook

    d = diff(sample, BEFORE, AFTER)
    csv_vi = d.to_csv("vi", sample.metamodel).decode("utf-8-sig")
    csv_en = d.to_csv("en", sample.metamodel).decode("utf-8-sig")
    assert csv_vi.splitlines()[0].startswith("Thay đổi,") and csv_en.splitlines()[0].startswith("Change,")
    assert len(csv_vi.splitlines()) == len(csv_en.splitlines())
    line = next(x for x in csv_en.splitlines() if "system:hcm-cong-1022" in x)
    assert "Ownership moved" in line and "hcm-2025-03-sttt-into-skhcn" in line and "HCMC Department" in line
    wb = load_workbook(io.BytesIO(d.to_xlsx("en", sample.metamodel)))
    assert wb.sheetnames == ["Items", "Relationships", "Ownership moved", "Organisation changes"]
    assert d.to_xlsx("en", sample.metamodel) == d.to_xlsx("en", sample.metamodel)  # deterministic


def _cli(store_url: str, *args: str) -> object:
    from conftest import typer_app

    from api import commands_history

    return CliRunner().invoke(typer_app(commands_history.register), [*args, "--store", store_url])


@pytest.fixture(scope="module")
def sample_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("diffcli") / "c.db"
    store = make_store("sqlite", path.parent)
    store.clock = FakeClock(BUILT)
    run_import(store, SAMPLE)
    store.close()
    return f"sqlite:///{path.parent / 'catalog.db'}"


@pytest.fixture(scope="module")
def demo_users(sample_url: str) -> dict[str, tuple]:
    """The demo users of ``sample_url`` by role: (user, password, token)."""
    from catalog.accounts import seed_demo
    from catalog.store import open_store

    store = open_store(sample_url)
    try:
        return {u.role: (u, p, t) for u, p, t in seed_demo(store)}
    finally:
        store.close()


def test_cli_list_on_a_date_and_with_ended(sample_url: str) -> None:
    def listed(*args: str) -> dict[str, dict]:
        r = _cli(sample_url, "list", "--kind", "organization", *args, "--format", "json")
        assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
        return {x["ref"]: x for x in json.loads(r.stdout)["items"]}  # type: ignore[attr-defined]

    assert "organization:hcm-sttt" in listed("--valid-on", BEFORE)
    assert "organization:hcm-sttt" not in listed("--valid-on", AFTER)
    ended = listed("--valid-on", AFTER, "--include-ended")["organization:hcm-sttt"]
    assert ended["status"] == "merged" and ended["into"] == ["organization:hcm-skhcn"]


def test_cli_diff_json_agrees_with_the_api(sample_url: str, demo_users: dict, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from catalog.settings import Settings
    from catalog.store import open_store

    r = _cli(sample_url, "diff", BEFORE, AFTER, "--format", "json")
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    cli = json.loads(r.stdout)  # type: ignore[attr-defined]
    move = next(m for m in cli["ownership"] if m["ref"] == "system:hcm-cong-1022")
    assert move["from_owner"] == "organization:hcm-sttt" and move["to_owner"] == "organization:hcm-skhcn"
    assert move["event"] == "hcm-2025-03-sttt-into-skhcn" and move["legal_basis"]
    store = open_store(sample_url)
    token = demo_users["auditor"][2].secret
    app = create_app(Settings(demo=True), store=store)
    with TestClient(app) as client:
        auth = {"Authorization": f"Bearer {token}"}
        api = client.get(f"/api/v1/diff?from={BEFORE}&to={AFTER}", headers=auth)
        assert api.status_code == 200
        body = api.json()
        for key in ("ownership", "organisations", "entities", "relationships", "counts"):
            assert body[key] == json.loads(json.dumps(cli[key])), key
        bad = client.get(f"/api/v1/diff?from={AFTER}&to={BEFORE}", headers=auth)
        assert bad.status_code == 422 and "from" in bad.text
        csv = client.get(f"/api/v1/diff?from={BEFORE}&to={AFTER}&format=csv&lang=en", headers=auth)
        assert csv.status_code == 200 and "Ownership moved" in csv.text
        # the IOC diagram on 2025-02-01 (valid time) answers and differs from today's
        old = client.get("/api/v1/diagrams/ioc.svg?valid_on=2025-02-01", headers=auth)
        now = client.get("/api/v1/diagrams/ioc.svg", headers=auth)
        assert old.status_code == 200 and now.status_code == 200 and old.content != now.content
        assert (
            "Sở Thông tin và Truyền thông TP.HCM" in old.text and "Sở Thông tin và Truyền thông TP.HCM" not in now.text
        )

        # lists take the two clocks too, named as everywhere
        def listed(query: str) -> set[str]:
            r = client.get(f"/api/v1/entities?kind=organization&limit=1000&{query}", headers=auth)
            assert r.status_code == 200, r.text
            return {e["ref"] for e in r.json()["items"]}

        assert "organization:hcm-sttt" in listed(f"valid_on={BEFORE}")
        assert "organization:hcm-sttt" not in listed(f"valid_on={AFTER}")
        assert "organization:hcm-sttt" in listed("")  # without a date: the stored list, as before
        assert "organization:hcm-sttt" in listed(f"valid_on={BEFORE}&recorded_at=2026-12-02T00:00:00Z")
        early = client.get(f"/api/v1/entities?valid_on={BEFORE}&recorded_at={BEFORE}", headers=auth)
        assert early.status_code == 404 and "--valid-on" in early.text  # explained: nothing recorded by then
        recorded = client.get(f"/api/v1/diagrams/ioc.svg?valid_on={BEFORE}&recorded_at=2026-12-02", headers=auth)
        assert recorded.status_code == 200 and "Sở Thông tin và Truyền thông TP.HCM" in recorded.text
    store.close()
    x = _cli(sample_url, "diff", BEFORE, AFTER, "--format", "xlsx", "-o", str(tmp_path / "d.xlsx"))
    assert x.exit_code == 0 and (tmp_path / "d.xlsx").read_bytes()[:2] == b"PK"  # type: ignore[attr-defined]


def test_bundle_for_a_period_before_the_first_record_explains_itself_and_builds(
    sample: CatalogStore, tmp_path: Path
) -> None:
    from diagrams.bundle import build_bundle, verify_bundle

    path = tmp_path / "bundle.zip"
    manifest = build_bundle(sample, AFTER, path, "en", from_day=BEFORE)
    assert verify_bundle(path).ok
    assert any("recorded nothing by 2025-08-01" in n for n in manifest["notes"])
    assert manifest["period"] == {"from": BEFORE, "to": AFTER} and manifest["recorded_at"] is None
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        assert {"changes/diff.json", "changes/diff.csv", "changes/diff.xlsx", "diagrams/diff.svg"} <= names
        changes = json.loads(z.read("changes/diff.json"))
        assert any(m["ref"] == "system:hcm-cong-1022" for m in changes["ownership"])
        assert "Sở Thông tin và Truyền thông TP.HCM" not in z.read("diagrams/ioc.svg").decode()  # merged by then
        assert "1022 citizen" in z.read("diagrams/diff.svg").decode()  # drawn as moved (lang en)


def test_the_demo_edits_are_real_dated_changes_that_record_time_shows(store: CatalogStore) -> None:
    from catalog.accounts import seed_demo
    from catalog.demo import demo_edits

    store.clock = FakeClock(BUILT)
    run_import(store, SAMPLE)
    seed_demo(store)
    clear_cache()
    loaded = store.clock().isoformat()
    store.clock = FakeClock(BUILT + dt.timedelta(days=1))
    assert demo_edits(store) == ["system:hcm-cong-1022", "system:hcm-thu-duc-phan-anh", "system:hcm-soc"]
    approved = store.changelog(ref="system:hcm-thu-duc-phan-anh")[-1]
    assert approved.actor == "architect" and approved.time > loaded  # recorded now, never back-dated
    day = (BUILT + dt.timedelta(days=1)).date()
    d = diff(store, day, day, recorded_from=loaded, recorded_to=None)
    changed = {x.ref: {f.field: (f.before, f.after) for f in x.fields} for x in d.changed}
    assert changed["system:hcm-cong-1022"]["attributes.last_reviewed"] == ("2026-06-12", day.isoformat())
    assert "attributes.decision_rationale" in changed["system:hcm-thu-duc-phan-anh"]
    assert set(changed) == {"system:hcm-cong-1022", "system:hcm-thu-duc-phan-anh", "system:hcm-soc"}


def test_cli_diagram_and_bundle_take_both_clocks_and_a_period(sample_url: str, tmp_path: Path) -> None:
    from conftest import typer_app

    from api import commands_diagrams

    app = typer_app(commands_diagrams.register)

    def run(*args: str) -> object:
        return CliRunner().invoke(app, [*args, "--store", sample_url])

    old = run("diagram", "ioc", "-f", "svg", "--valid-on", BEFORE)
    assert old.exit_code == 0 and "Sở Thông tin và Truyền thông TP.HCM" in old.stdout  # type: ignore[attr-defined]
    early = run("diagram", "ioc", "-f", "svg", "--recorded-at", BEFORE)
    assert isinstance(early.exception, NothingRecorded)  # type: ignore[attr-defined]
    later = run("diagram", "ioc", "-f", "svg", "--recorded-at", "2026-12-02T00:00:00Z")
    assert later.exit_code == 0 and "Sở Thông tin và Truyền thông TP.HCM" not in later.stdout  # type: ignore[attr-defined]
    path = tmp_path / "period.zip"
    made = run("audit-bundle", "--as-of", AFTER, "--from", BEFORE, "-o", str(path))
    assert made.exit_code == 0, made.output  # type: ignore[attr-defined]
    with zipfile.ZipFile(path) as z:
        assert json.loads(z.read("manifest.json"))["period"] == {"from": BEFORE, "to": AFTER}
        assert "changes/diff.csv" in z.namelist()


HOSTILE = [
    "",
    " ",
    "x",
    "2025-02-30",
    "20250201",
    "2025-02-01T99:00",
    "9999-12-31",
    "0001-01-01",
    "<script>",
    "%00",
    "'; DROP TABLE x;--",
    "organization:../../etc",
    "a" * 39,
    "2025-02-01T10:00:00+25:00",
    "-1",
    "1e9",
]


def test_hostile_dates_and_filters_never_give_a_5xx(sample_url: str, demo_users: dict) -> None:
    """Every parameter of the time machine's API and pages, with junk: refused by name (422/404), never a 5xx."""
    import re

    from fastapi.testclient import TestClient

    from api.app import create_app
    from catalog.settings import Settings
    from catalog.store import open_store

    store = open_store(sample_url)
    users = demo_users
    app = create_app(Settings(demo=True), store=store)
    with TestClient(app, raise_server_exceptions=False) as client:
        auth = {"Authorization": f"Bearer {users['auditor'][2].secret}"}
        page = client.get("/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        user, password, _ = users["auditor"]
        client.post("/signin", data={"name": user.name, "password": password, "csrf": csrf}, follow_redirects=False)
        for bad in HOSTILE:
            for url in (
                f"/api/v1/diff?from={bad}&to={AFTER}",
                f"/api/v1/diff?from={BEFORE}&to={AFTER}&recorded_to={bad}",
                f"/api/v1/diff?from={BEFORE}&to={AFTER}&org={bad}&kind={bad}",
                f"/api/v1/entities?valid_on={bad}",
                f"/api/v1/entities?recorded_at={bad}",
                f"/api/v1/diagrams/ioc.svg?recorded_at={bad}",
            ):
                r = client.get(url, headers=auth)
                assert r.status_code < 500, (url, r.status_code, r.text[:300])
            for url in (
                f"/asof?valid_on={bad}",
                f"/asof?recorded_at={bad}&kind={bad}&include_ended={bad}&offset={bad}",
                f"/diff?from={bad}&to={AFTER}",
                f"/diff?from={BEFORE}&to={AFTER}&moved_offset={bad}&limit={bad}&org={bad}",
                f"/diff/diagram.svg?from={BEFORE}&to={bad}",
                f"/download/diff.csv?from={BEFORE}&to={AFTER}&recorded_from={bad}",
            ):
                r = client.get(url)
                assert r.status_code < 500, (url, r.status_code, r.text[:300])
        ok = client.get(f"/diff?from={BEFORE}&to={AFTER}")
        assert ok.status_code == 200 and "Cổng thông tin 1022" in ok.text
    store.close()
