"""Inventory campaigns (catalog.campaigns) on every backend: the issue's scenario from opening to the frozen result.

Three departments of the sample catalog: Sở Tài chính confirms everything in bulk, Sở Nội vụ corrects two systems
through its spreadsheet (a draft: the policy reviews an editor's import), Sở Xây dựng does nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import load_workbook

from api.campaign_files import department_workbook, result_workbook
from catalog import campaigns
from catalog.accounts import Accounts
from catalog.compliance import check
from catalog.errors import PermissionDenied, ValidationFailed
from catalog.notices import Notices
from catalog.permissions import Principal
from catalog.settings import get_settings
from catalog.store.base import CatalogStore
from importers.base import plan_import, run_import
from tests.conftest import SAMPLE, FakeClock

STC, SNV, SXD = "organization:hcm-stc", "organization:hcm-snv", "organization:hcm-sxd"
ARCHITECT = Principal("architect", "architect")
E_STC = Principal("editor-stc", "editor", STC)
E_SNV = Principal("editor-snv", "editor", SNV)
E_SXD = Principal("editor-sxd", "editor", SXD)
OPENED = dt.date(2026, 11, 2)


@pytest.fixture
def sample(store: CatalogStore) -> CatalogStore:
    store.clock = FakeClock(dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    assert run_import(store, SAMPLE).loaded
    accounts = Accounts(store)
    for p in (ARCHITECT, E_STC, E_SNV, E_SXD):
        accounts.add_user(p.name, p.role, p.org)
    store.clock = FakeClock(dt.datetime.combine(OPENED, dt.time(8), tzinfo=dt.UTC))
    return store


def _open(store: CatalogStore) -> campaigns.Campaign:
    return campaigns.open_campaign(
        store,
        ARCHITECT,
        id="kiem-ke-2026",
        name="Kiểm kê hệ thống tại Trung tâm dữ liệu 2026",
        orgs=[STC, SNV, SXD],
        kinds=["system", "database"],
        deadline="2026-11-30",
    )


def _refs(store: CatalogStore, camp: campaigns.Campaign, org: str) -> list[str]:
    return [t.entity.ref for t in campaigns.tasks(store, camp) if t.org == org]


def test_campaign_from_opening_to_frozen_result(sample: CatalogStore, tmp_path: Path, monkeypatch) -> None:
    store = sample
    camp = _open(store)
    stc, snv, sxd = (_refs(store, camp, o) for o in (STC, SNV, SXD))
    assert (len(stc), len(snv), len(sxd)) == (4, 4, 4)
    # opening is a change-log entry of the campaign record
    [opened] = list(store.changelog(ref="record:campaign/kiem-ke-2026"))
    assert opened.op == "create" and opened.after["status"] == "open"

    # 1. Sở Tài chính confirms everything in bulk, answering keep for all
    keep = {"decision": "keep", "decision_rationale": "Đang phục vụ", "decision_legal_basis": "QĐ 123/QĐ-UBND"}
    out = campaigns.confirm(store, E_STC, camp.id, stc, keep)
    assert out.applied is not None and not out.needs_review
    for ref in stc:
        assert store.get_entity(ref).attributes["last_reviewed"] == OPENED.isoformat()
    # an editor cannot confirm another department's entries
    with pytest.raises(PermissionDenied):
        campaigns.confirm(store, E_STC, camp.id, [sxd[0]])
    with pytest.raises(ValidationFailed) as exc:  # not in the campaign at all
        campaigns.confirm(store, E_STC, camp.id, [stc[0], "system:hcm-cong-1022"])
    assert [e.location for e in exc.value.errors] == ["refs.1"]

    # 2. Sở Nội vụ corrects two systems through its spreadsheet: exactly its rows, re-imported as one draft
    book = tmp_path / "snv.xlsx"
    book.write_bytes(department_workbook(store, camp, campaigns.editor_orgs(store, E_SNV)))
    wb = load_workbook(book)
    listed = []
    for ws in [w for w in wb.worksheets if w.title != "owner_history"]:
        header = [c.value for c in ws[1]]
        code = header.index(next(h for h in header if h.startswith("Mã")))
        listed += [f"{ws.title}:{row[code]}" for row in ws.iter_rows(min_row=2, values_only=True)]
    assert sorted(listed) == sorted(snv)
    ws = wb["system"]
    header = [c.value for c in ws[1]]
    col = {
        key: header.index(next(h for h in header if h.split(" / ")[-1].startswith(label))) + 1
        for key, label in (
            ("decision", "Keep or terminate"),
            ("decision_rationale", "Rationale"),
            ("decision_legal_basis", "Legal basis"),
            ("last_reviewed", "Last reviewed"),
        )
    }
    corrected = []
    for r in (2, 3):
        ws.cell(r, col["decision"], "terminate")
        ws.cell(r, col["decision_rationale"], "Gộp vào hệ thống dùng chung")
        ws.cell(r, col["decision_legal_basis"], "QĐ 456/QĐ-UBND")
        ws.cell(r, col["last_reviewed"], OPENED.isoformat())
        corrected.append("system:" + ws.cell(r, header.index(next(h for h in header if h.startswith("Mã"))) + 1).value)
    wb.save(book)
    plan = plan_import(store, book, principal=E_SNV)
    assert plan.ready, [(r.location, r.reason.text("en")) for r in plan.report.rejected][:5]
    assert plan.ready and sorted(c.ref for c in plan.changes) == sorted(corrected)
    from catalog.changeset import submit

    outcome = submit(store, E_SNV, plan.changes, note="kiểm kê", origin="import")
    assert outcome.needs_review  # the policy reviews an editor's import
    assert store.get_entity(corrected[0]).attributes.get("decision") != "terminate"  # nothing applied yet

    # 3. Sở Xây dựng does nothing. The dashboard, before the deadline:
    rows = {r.org: r.as_dict() for r in campaigns.dashboard(store, camp)}
    assert rows[STC] | {"org": 0} == {
        "org": 0,
        "total": 4,
        "done": 4,
        "gone": 0,
        "review": 0,
        "missing": 0,
        "overdue": 0,
        "keep": 4,
        "terminate": 0,
        "finished": True,
    }
    snv_missing = sum(1 for t in campaigns.tasks(store, camp) if t.org == SNV and t.missing)
    assert rows[SNV]["total"] == 4 and rows[SNV]["done"] == 0 and rows[SNV]["review"] == 2
    assert rows[SNV]["missing"] == snv_missing and rows[SNV]["overdue"] == 0 and not rows[SNV]["finished"]
    assert rows[SXD]["total"] == 4 and rows[SXD]["done"] == 0 and rows[SXD]["review"] == 0
    # after the deadline: what is not done (nor in review) is overdue
    late = dt.date(2026, 12, 1)
    rows = {r.org: r for r in campaigns.dashboard(store, camp, late)}
    assert (rows[STC].overdue, rows[SNV].overdue, rows[SXD].overdue) == (0, 2, 4)

    # reminders: the editors of the two departments not done, in-app, and a dated entry in the change log
    told = campaigns.remind(store, ARCHITECT, camp.id, today=late)
    assert told == {SNV: ["editor-snv"], SXD: ["editor-sxd"]}
    for p, expected in ((E_SNV, 1), (E_SXD, 1), (E_STC, 0)):
        got = [n for n in Notices(store, p).list() if n.type == "campaign.reminder"]
        assert len(got) == expected
        if got:
            assert "Kiểm kê hệ thống" in got[0].sentence("vi") and "30 thg 11, 2026" in got[0].sentence("vi")
    with pytest.raises(PermissionDenied):
        campaigns.remind(store, E_STC, camp.id)
    # and a change event for webhooks: the organisations reminded
    from catalog.outbox import events_after

    events, _ = events_after(store, 0, 100_000)
    mine = [(e.type, e.refs) for e in events if e.ref == "campaign:kiem-ke-2026"]
    assert mine == [("campaign.opened", (STC, SNV, SXD)), ("campaign.reminded", (SNV, SXD))]

    # closing freezes the result: later changes do not move it, and it is in the hash chain
    before = {r.org: r.as_dict() for r in campaigns.dashboard(store, camp, late)}
    closed = campaigns.close(store, ARCHITECT, camp.id, today=late)
    assert closed.status == "closed" and closed.result["as_of"] == "2026-12-01"
    assert {r["org"]: r for r in closed.result["dashboard"]} == before
    assert len(closed.result["rows"]) == 12
    with pytest.raises(ValidationFailed):
        campaigns.confirm(store, E_SXD, camp.id, sxd)
    entries = store.changelog(ref="record:campaign/kiem-ke-2026")
    assert [e.after["status"] for e in entries] == ["open", "open", "closed"]
    assert entries[-1].after["result"]["dashboard"] == closed.result["dashboard"]
    assert store.verify_log().ok
    wb = load_workbook(__import__("io").BytesIO(result_workbook(store, closed)))
    summary = list(wb.worksheets[0].iter_rows(values_only=True))
    assert summary[0][0] == "Cơ quan, đơn vị" and len(summary) == 4
    assert [r[1:4] for r in summary[1:]] == [("4", "4", "0"), ("4", "0", "0"), ("4", "0", "0")]
    detail = list(wb.worksheets[1].iter_rows(values_only=True))
    assert len(detail) == 13 and detail[0][:5] == ("STT", "Cơ quan, đơn vị", "Loại", "Tên", "Trạng thái")
    flat = " ".join(str(c) for r in detail for c in r if c)
    assert "Duy trì" in flat and "Chờ duyệt" in flat and "Hệ thống thông tin" in flat
    assert "keep" not in flat and "system:" not in flat and "organization:" not in flat

    # freshness: with a 20-day period, 25 days later the untouched department's entries are flagged, the
    # confirmed ones are not
    monkeypatch.setenv("IOC_CATALOG_FRESHNESS_DAYS", "20")
    get_settings.cache_clear()
    try:
        flagged = {f.ref for f in check(store, today=OPENED + dt.timedelta(days=15), rules=["CR006"]).findings}
        assert set(sxd) <= flagged and not set(stc) & flagged
        flagged = {f.ref for f in check(store, today=OPENED + dt.timedelta(days=25), rules=["CR006"]).findings}
        assert set(stc) <= flagged  # after the period, a confirmation is stale too
    finally:
        monkeypatch.delenv("IOC_CATALOG_FRESHNESS_DAYS")
        get_settings.cache_clear()


def test_opening_refuses_by_field_and_writes_nothing(sample: CatalogStore) -> None:
    store = sample
    before = store.revision()
    with pytest.raises(ValidationFailed) as exc:
        campaigns.open_campaign(
            store,
            ARCHITECT,
            id="Bad Id",
            name="",
            orgs=["organization:nope", "system:hcm-cong-1022"],
            kinds=["organization", "nokind"],
            questions=["nofield"],
            deadline="2020-01-01",
        )
    fields = {e.location for e in exc.value.errors}
    assert fields == {"id", "name", "orgs", "kinds", "questions", "deadline"}
    with pytest.raises(PermissionDenied):
        campaigns.open_campaign(store, E_STC, id="x", name="x", orgs=[STC], deadline="2027-01-01")
    assert store.revision() == before
    camp = _open(store)
    with pytest.raises(Exception) as dup:
        _open(store)
    assert type(dup.value).__name__ == "AlreadyExists"
    assert campaigns.get(store, camp.id).name == camp.name


def test_retiring_through_a_campaign_is_a_draft_and_counts_as_in_review(sample: CatalogStore) -> None:
    store = sample
    camp = _open(store)
    ref = _refs(store, camp, SXD)[0]
    out = campaigns.retire(store, E_SXD, camp.id, [ref])
    assert out.needs_review
    [t] = [t for t in campaigns.tasks(store, camp) if t.entity.ref == ref]
    assert t.status == "review"


def test_the_demo_has_a_finished_campaign_and_an_open_one_with_progress(sample: CatalogStore) -> None:
    from catalog.demo import CITY, TRIAL, demo_campaigns

    store = sample
    assert demo_campaigns(store) == [TRIAL, CITY]
    trial, city = campaigns.get(store, TRIAL), campaigns.get(store, CITY)
    assert trial.status == "closed" and trial.result is not None
    [row] = trial.result["dashboard"]
    assert row["done"] == row["total"] == row["keep"] == 4 and row["finished"]
    assert city.is_open
    rows = {r.org: r for r in campaigns.dashboard(store, city)}
    skhcn = rows["organization:hcm-skhcn"]
    assert skhcn.done == 9 and 0 < skhcn.done < skhcn.total and not skhcn.finished  # 5 systems answered, 4 others
    answered = [
        t
        for t in campaigns.tasks(store, city, {"organization:hcm-skhcn"})
        if t.status == "done" and t.entity.kind == "system"
    ]
    assert sorted(t.decision for t in answered) == ["keep", "keep", "keep", "keep", "terminate"]
    assert rows["organization:hcm-stc"].finished  # confirmed today in the trial round
    assert rows["organization:hcm-snv"].done == 0 and rows["organization:hcm-syt"].done == 0
