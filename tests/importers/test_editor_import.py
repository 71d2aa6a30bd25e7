"""A department editor's spreadsheet (issue 16, item 4): the dry run runs as the editor and names every row outside
their organisation; confirming imports nothing but hands one change set to the approval policy, which makes it one
draft with the dry run's report attached; the approval applies it all. The rules on both backends (the ``store``
fixture); the page through the app on SQLite."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SAMPLE
from openpyxl import Workbook

from catalog.changeset import Change, submit
from catalog.digest import content_hash
from catalog.drafts import Drafts
from catalog.permissions import Principal
from catalog.services import CatalogService
from catalog.store.base import CatalogStore
from importers.base import plan_import, run_import

SKHCN, STC = "organization:hcm-skhcn", "organization:hcm-stc"
EDITOR = Principal("editor-skhcn", "editor", SKHCN)
ARCHITECT = Principal("architect", "architect")
OLD = "system:hcm-so-tay-cu"  # an existing system of Sở KH&CN with one owner: a spreadsheet row can update it
THEIRS = "system:hcm-thue-cu"  # an existing system of Sở Tài chính


@pytest.fixture
def db(store: CatalogStore) -> Iterator[CatalogStore]:
    """The sample catalog on each backend (the ``store`` fixture), with one system of each department."""
    run_import(store, SAMPLE)
    CatalogService(store, ARCHITECT).register(
        {"ref": OLD, "name": {"vi": "Sổ tay cũ"}, "owner": SKHCN, "attributes": {"lifecycle": "production"}}
    )
    CatalogService(store, ARCHITECT).register(
        {"ref": THEIRS, "name": {"vi": "Thuế cũ"}, "owner": STC, "attributes": {"lifecycle": "production"}}
    )
    yield store


def workbook(path: Path, systems: list[list[str]], relationships: list[list[str]] = ()) -> Path:
    """A workbook in the template's layout (headers by their keys): a system sheet and a relationships sheet."""
    wb = Workbook()
    ws = wb.active
    ws.title = "system"
    ws.append(["code", "name_vi", "owner", "lifecycle"])
    for row in systems:
        ws.append(row)
    if relationships:
        rs = wb.create_sheet("relationships")
        rs.append(["type", "source", "target"])
        for row in relationships:
            rs.append(row)
    wb.save(path)
    return path


def own_sheet(tmp_path: Path) -> Path:
    return workbook(
        tmp_path / "so-khcn.xlsx",
        [
            ["hcm-quan-ly-de-tai", "Hệ thống quản lý đề tài khoa học", SKHCN, "building"],
            ["hcm-so-tay-cu", "Sổ tay cũ", SKHCN, "retiring"],  # an update of OLD
            ["hcm-thu-vien-so", "Thư viện số KH&CN", SKHCN, "planned"],
        ],
        [["hosted_on", "system:hcm-quan-ly-de-tai", "platform:hcm-ttdl"]],
    )


def test_an_editors_own_spreadsheet_becomes_one_draft_with_its_report_and_an_approval_applies_it(
    db: CatalogStore, tmp_path: Path
) -> None:
    before, head = content_hash(db), db.revision()
    plan = plan_import(db, own_sheet(tmp_path), principal=EDITOR)
    assert plan.report.status == "finished" and plan.report.rejected == [] and plan.ready
    ops = sorted((c.op, c.ref) for c in plan.changes)
    assert ops == [
        ("create", "system:hcm-quan-ly-de-tai"),
        ("create", "system:hcm-thu-vien-so"),
        ("link", "system:hcm-quan-ly-de-tai>hosted_on>platform:hcm-ttdl"),
        ("update", OLD),
    ]
    update = next(c for c in plan.changes if c.op == "update")
    assert update.base_version == db.get_entity(OLD).version and update.data["attributes"]["lifecycle"] == "retiring"
    assert plan.locations[OLD] == "so-khcn.xlsx: sheet system, row 3 (system:hcm-so-tay-cu)"
    assert plan.report.result.created == {"relationship": 1, "system": 2} and plan.report.result.updated == {
        "system": 1
    }
    assert (content_hash(db), db.revision()) == (before, head)  # a dry run writes nothing, records no run

    attached = {"import_report": plan.summary()}
    outcome = submit(db, EDITOR, plan.changes, note="Danh mục 2026", attachments=attached, origin="import")
    assert outcome.draft is not None and outcome.applied is None  # the default policy: an editor's import
    assert [r.code for r in outcome.reasons].count("policy-reason-origin") == 1  # the rest: why, once for the file
    draft = Drafts(db, ARCHITECT).get(outcome.draft.id)
    assert len(draft.changes_list()) == 4 and draft.submitted_by == "editor-skhcn" and draft.note == "Danh mục 2026"
    report = draft.attachments["import_report"]
    assert report["file"] == "so-khcn.xlsx" and report["format"] == "xlsx" and report["changes"] == 4
    assert report["created"] == {"relationship": 1, "system": 2} and report["rejected"] == 0
    assert "/" not in report["file"]  # no path of the server's machine
    assert content_hash(db) == before  # nothing written before the approval
    assert db.find_entity("system:hcm-quan-ly-de-tai") is None

    Drafts(db, ARCHITECT).approve(draft.id, draft.version)
    assert db.get_entity("system:hcm-quan-ly-de-tai").owner == SKHCN
    assert db.get_entity("system:hcm-thu-vien-so").attributes["lifecycle"] == "planned"
    assert db.get_entity(OLD).attributes["lifecycle"] == "retiring"
    assert db.find_relationship("system:hcm-quan-ly-de-tai>hosted_on>platform:hcm-ttdl") is not None
    entries = db.changelog(ref="system:hcm-quan-ly-de-tai")
    assert entries and entries[-1].proposer == "editor-skhcn"
    again = plan_import(db, own_sheet(tmp_path), principal=EDITOR)  # the same file now changes nothing
    assert again.report.status == "finished" and again.changes == [] and not again.ready


def test_a_row_of_another_organisation_is_refused_naming_sheet_row_and_field(db: CatalogStore, tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "tron.xlsx",
        [
            ["hcm-quan-ly-de-tai", "Hệ thống quản lý đề tài khoa học", SKHCN, "building"],
            ["hcm-thue-moi", "Hệ thống thuế mới", STC, "planned"],  # Sở Tài chính's: not the editor's
        ],
    )
    before = content_hash(db)
    plan = plan_import(db, path, principal=EDITOR)
    assert plan.report.status == "failed" and plan.changes == [] and not plan.ready
    [refused] = plan.report.rejected
    assert refused.location == "tron.xlsx: sheet system, row 3, column owner" and refused.field == "owner"
    assert refused.reason.code == "denied-owner"  # the refusal a direct change gets
    assert "Sở Tài chính" in refused.text("vi") and "sheet system, row 3" in refused.text("en")
    assert "trang system, dòng 3" in refused.text("vi")
    assert content_hash(db) == before
    with pytest.raises(Exception, match="editor-skhcn"):  # the same change made directly is refused alike
        CatalogService(db, EDITOR).register(
            {"ref": "system:hcm-thue-moi", "name": {"vi": "x"}, "owner": STC, "attributes": {"lifecycle": "planned"}}
        )


def test_changing_another_organisations_system_or_its_connections_is_refused(db: CatalogStore, tmp_path: Path) -> None:
    other = db.get_entity(THEIRS)
    path = workbook(
        tmp_path / "khac.xlsx",
        [[other.code, other.name.vi, STC, "retiring"]],
        [["hosted_on", other.ref, "platform:hcm-ttdl"]],
    )
    plan = plan_import(db, path, principal=EDITOR)
    where = sorted((r.location, r.field, r.reason.code) for r in plan.report.rejected)
    assert where == [
        ("khac.xlsx: sheet relationships, row 2", "source", "denied-owner"),
        ("khac.xlsx: sheet system, row 2, column owner", "owner", "denied-owner"),
    ]
    assert plan.changes == []


def test_unchanged_rows_of_other_organisations_are_left_alone(db: CatalogStore, tmp_path: Path) -> None:
    """An inventory exported whole and edited for one department: only what would change is judged."""
    other = db.get_entity(THEIRS)
    path = workbook(
        tmp_path / "xuat.xlsx",
        [
            [other.code, other.name.vi, STC, "production"],  # Sở Tài chính's, unchanged
            ["hcm-thu-vien-so", "Thư viện số KH&CN", SKHCN, "planned"],
        ],
    )
    plan = plan_import(db, path, principal=EDITOR)
    assert plan.report.rejected == [] and plan.ready and plan.report.result.unchanged == {"system": 1}
    assert [(c.op, c.ref) for c in plan.changes] == [("create", "system:hcm-thu-vien-so")]


def test_more_changes_than_a_change_set_holds_asks_for_an_architect(
    db: CatalogStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import catalog.changeset

    monkeypatch.setattr(catalog.changeset, "MAX_CHANGES", 3)
    plan = plan_import(db, own_sheet(tmp_path), principal=EDITOR)
    assert plan.report.status == "failed" and plan.changes == []
    assert plan.report.error.code == "import-plan-too-many"
    assert "kiến trúc sư" in plan.report.error_vi and "architect" in str(plan.report.error)


def test_a_reader_may_not_plan_an_import(db: CatalogStore, tmp_path: Path) -> None:
    from catalog.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        plan_import(db, own_sheet(tmp_path), principal=Principal("auditor", "auditor"))


# --- the page ---------------------------------------------------------------------------------------------------


@pytest.fixture
def editor_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[object, CatalogStore]]:
    from fastapi.testclient import TestClient
    from web.uitest import PASSWORD, build_catalog

    from api.app import create_app
    from api.routers import web_import
    from catalog.settings import Settings
    from catalog.store import open_store

    monkeypatch.setattr(web_import, "UPLOADS", tmp_path / "uploads")
    store = open_store(build_catalog(tmp_path / "web.db"))
    with TestClient(create_app(Settings(demo=True), store=store)) as c:
        page = c.get("/signin").text
        token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)  # type: ignore[union-attr]
        r = c.post(
            "/signin", data={"csrf": token, "name": "editor-skhcn", "password": PASSWORD}, follow_redirects=False
        )
        assert r.status_code == 303
        yield c, store
    store.close()


def _field(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)  # type: ignore[union-attr]


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', html).group(1)  # type: ignore[union-attr]


def test_the_editors_import_page_says_a_draft_follows_and_links_it(
    editor_client: tuple[object, CatalogStore], tmp_path: Path
) -> None:
    c, store = editor_client
    page = c.get("/import").text  # type: ignore[attr-defined]
    assert 'id="import-scope"' in page and "Sở Khoa học và Công nghệ" in page and "import-refused" not in page
    path = workbook(
        tmp_path / "moi.xlsx",
        [["hcm-quan-ly-de-tai", "Hệ thống quản lý đề tài khoa học", SKHCN, "building"]],
        [["hosted_on", "system:hcm-quan-ly-de-tai", "platform:hcm-ttdl"]],
    )
    before = content_hash(store)
    r = c.post(  # type: ignore[attr-defined]
        "/import", data={"csrf": _csrf(page), "format": ""}, files={"file": ("moi.xlsx", path.read_bytes(), "x")}
    )
    assert r.status_code == 200 and 'id="confirm-import"' in r.text
    assert "sẽ gửi thành một bản nháp để duyệt" in r.text and "Gửi bản nháp để duyệt" in r.text
    assert "Hệ thống thông tin “Hệ thống quản lý đề tài khoa học”" in r.text  # the change by kind and name
    changes = r.text.split('id="plan-changes"', 1)[1].split("</ul>", 1)[0]
    assert "Thêm kết nối" in changes and "Trung tâm dữ liệu" in changes and "system:" not in changes  # no raw refs
    token = re.search(r'name="token" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    assert content_hash(store) == before
    confirm = {"csrf": _csrf(r.text), "token": token, "plan": _field(r.text, "plan"), "note": "Xin duyệt"}
    done = c.post("/import", data=confirm)  # type: ignore[attr-defined]
    assert done.status_code == 200 and 'id="draft-link"' in done.text
    draft_id = re.search(r'href="/drafts/([0-9a-f]+)', done.text).group(1)  # type: ignore[union-attr]
    draft = Drafts(store, ARCHITECT).get(draft_id)
    assert draft.note == "Xin duyệt" and draft.attachments["import_report"]["file"] == "moi.xlsx"
    assert content_hash(store) == before  # a draft, nothing applied

    r = c.post(  # type: ignore[attr-defined]
        "/import",
        data={"csrf": _csrf(done.text), "format": ""},
        files={
            "file": (
                "khac.xlsx",
                workbook(tmp_path / "khac.xlsx", [["hcm-thue-moi", "Thuế", STC, "planned"]]).read_bytes(),
                "x",
            )
        },
    )
    assert r.status_code == 422 and 'id="confirm-import"' not in r.text
    assert "khac.xlsx: trang system, dòng 2, cột owner: owner:" in r.text and "Sở Tài chính" in r.text


def test_even_a_plain_update_is_a_draft_by_default_and_a_moved_catalog_asks_again(
    editor_client: tuple[object, CatalogStore], tmp_path: Path
) -> None:
    """The default policy's rule ``editor-import``: an editor's spreadsheet is one draft whatever it holds, even a
    plain edit of their own system that the form would apply at once; the page says why before the confirmation.
    A change to the catalog between the dry run and the confirmation shows the new dry run."""
    c, store = editor_client
    CatalogService(store, ARCHITECT).register(
        {"ref": OLD, "name": {"vi": "Sổ tay cũ"}, "owner": SKHCN, "attributes": {"lifecycle": "production"}}
    )
    path = workbook(tmp_path / "sua.xlsx", [["hcm-so-tay-cu", "Sổ tay cũ", SKHCN, "retiring"]])
    page = c.get("/import").text  # type: ignore[attr-defined]
    r = c.post(  # type: ignore[attr-defined]
        "/import", data={"csrf": _csrf(page), "format": ""}, files={"file": ("sua.xlsx", path.read_bytes(), "x")}
    )
    assert r.status_code == 200 and "sẽ gửi thành một bản nháp để duyệt" in r.text
    assert "các thay đổi đến từ bảng tính của đơn vị: được duyệt trọn gói" in r.text  # the one reason
    CatalogService(store, ARCHITECT).patch(OLD, {"description": {"vi": "Sửa trong lúc chờ"}}, 1)  # meanwhile
    confirm = {"csrf": _csrf(r.text), "token": _field(r.text, "token"), "plan": _field(r.text, "plan")}
    again = c.post("/import", data=confirm)  # type: ignore[attr-defined]
    assert again.status_code == 409 and 'id="plan-moved"' in again.text  # not what was shown: shown again
    confirm = {"csrf": _csrf(again.text), "token": _field(again.text, "token"), "plan": _field(again.text, "plan")}
    done = c.post("/import", data=confirm)  # type: ignore[attr-defined]
    assert done.status_code == 200 and 'id="draft-link"' in done.text
    assert store.get_entity(OLD).attributes["lifecycle"] == "production"  # a draft: nothing applied


def test_a_policy_without_the_import_rule_applies_an_editors_update_at_once(
    editor_client: tuple[object, CatalogStore], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import catalog.policy

    c, store = editor_client
    applies = catalog.policy.parse_policy({"version": 1, "default": "apply", "rules": []}, store.metamodel)
    monkeypatch.setattr(catalog.policy, "policy_in_force", lambda mm=None: applies)
    CatalogService(store, ARCHITECT).register(
        {"ref": OLD, "name": {"vi": "Sổ tay cũ"}, "owner": SKHCN, "attributes": {"lifecycle": "production"}}
    )
    path = workbook(tmp_path / "sua.xlsx", [["hcm-so-tay-cu", "Sổ tay cũ", SKHCN, "retiring"]])
    page = c.get("/import").text  # type: ignore[attr-defined]
    r = c.post(  # type: ignore[attr-defined]
        "/import", data={"csrf": _csrf(page), "format": ""}, files={"file": ("sua.xlsx", path.read_bytes(), "x")}
    )
    assert r.status_code == 200 and "được áp dụng ngay" in r.text and "Áp dụng các thay đổi" in r.text
    confirm = {"csrf": _csrf(r.text), "token": _field(r.text, "token"), "plan": _field(r.text, "plan")}
    done = c.post("/import", data=confirm)  # type: ignore[attr-defined]
    assert done.status_code == 200 and "Đã áp dụng 1 thay đổi" in done.text and 'id="draft-link"' not in done.text
    assert store.get_entity(OLD).attributes["lifecycle"] == "retiring"
    assert store.get_entity(OLD).description.vi == ""  # the row's whole content, as an import writes it


def test_the_origins_condition_is_checked_when_a_policy_is_loaded(db: CatalogStore) -> None:
    from catalog.errors import ValidationFailed
    from catalog.policy import parse_policy

    bad = {"version": 1, "rules": [{"id": "x", "when": {"origins": ["fax"]}, "decision": "review"}]}
    with pytest.raises(ValidationFailed) as exc:
        parse_policy(bad, db.metamodel, "site.yaml")
    assert [e.location for e in exc.value.errors] == ["site.yaml:rules.x.when.origins"]
    rule = {"id": "bulk", "roles": ["editor"], "when": {"origins": ["bulk"]}, "decision": "review"}
    policy = parse_policy({"version": 1, "rules": [rule]}, db.metamodel)
    change = [Change("patch", OLD, {"attributes": {"last_reviewed": "2026-12-01"}}, 1)]
    assert policy.review_reasons(db, EDITOR, change) == []  # the form, the API: no origin
    assert [r.code for r in policy.review_reasons(db, EDITOR, change, origin="bulk")] == ["policy-reason-origin"]
    assert policy.as_dict()["rules"][0]["when"] == {"origins": ["bulk"]}


def test_a_row_that_would_rewrite_who_owned_a_system_before_is_refused(db: CatalogStore, tmp_path: Path) -> None:
    """Cổng 1022 was another department's before the 2025 merger: a row with only today's owner would drop that
    period, which an editor may never do (the refusal the form's update gets)."""
    portal = db.get_entity("system:hcm-cong-1022")
    assert portal.owner == SKHCN and any(p.end is not None for p in portal.owner_history)
    path = workbook(tmp_path / "cong.xlsx", [[portal.code, portal.name.vi, SKHCN, "production"]])
    plan = plan_import(db, path, principal=EDITOR)
    assert [(r.location, r.reason.code) for r in plan.report.rejected] == [
        ("cong.xlsx: sheet system, row 2, column owner", "denied-past-ownership")
    ]
    assert plan.changes == []
