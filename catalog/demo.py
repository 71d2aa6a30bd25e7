"""The demo's first edits: a few real changes made through the services right after the sample is loaded.

The sample carries its valid-time history (the 2025 mergers, transfers, retired district IOCs); its record time starts
when the demo is built, and record times are never faked. So that the record-time views (the catalog "as recorded
at", the change log, an entity's history with values before and after, the proposer of an approved draft) have
something to show, ``ioc-catalog demo`` makes these edits as the demo users, each in its own request:

1. the architect records a review of the 1022 portal (``last_reviewed`` set to the day the demo is built);
2. the department editor of Sở KH&CN proposes a change to the Thủ Đức feedback system, which the architect approves
   (the change log names both: the approver as actor, the editor as proposer);
3. the architect adds the source of the SOC's facts to its evidence note.

Each edit is skipped when the catalog has no such entity (a catalog built from another file).
"""

from __future__ import annotations

from catalog.drafts import Drafts
from catalog.permissions import Principal
from catalog.services import CatalogService
from catalog.store.base import CatalogStore

REVIEWED = "system:hcm-cong-1022"
PROPOSED = "system:hcm-thu-duc-phan-anh"
CORRECTED = "system:hcm-soc"


def demo_edits(store: CatalogStore) -> list[str]:
    """Make the demo's first edits (see the module docstring); returns the references changed."""
    architect = Principal("architect", "architect")
    editor = Principal("editor-skhcn", "editor", "organization:hcm-skhcn")
    today = store.clock().date().isoformat()
    done: list[str] = []
    e = store.find_entity(REVIEWED)
    if e is not None:
        CatalogService(store, architect).patch(REVIEWED, {"attributes": {"last_reviewed": today}}, e.version)
        done.append(REVIEWED)
    e = store.find_entity(PROPOSED)
    if e is not None and e.owner == editor.org:
        drafts = Drafts(store, editor)
        d = drafts.submit(
            PROPOSED,
            {"attributes": {"decision_rationale": "Gộp vào Cổng 1022 của thành phố sau khi TP Thủ Đức giải thể."}},
            e.version,
            note="Đề xuất khi dựng bản demo",
        )
        Drafts(store, architect).approve(d.id, d.version)
        done.append(PROPOSED)
    e = store.find_entity(CORRECTED)
    if e is not None:
        note = f"{e.attributes.get('evidence_note') or ''}; rà soát khi dựng bản demo ({today})".lstrip("; ")
        CatalogService(store, architect).patch(CORRECTED, {"attributes": {"evidence_note": note}}, e.version)
        done.append(CORRECTED)
    return done


TRIAL = "kiem-ke-thu-stc"
CITY = "kiem-ke-ttdl-2026"
KEEP = {
    "decision": "keep",
    "decision_rationale": "Đang phục vụ người dân và doanh nghiệp; tiếp tục vận hành tại Trung tâm dữ liệu thành phố.",
    "decision_legal_basis": "Kế hoạch chuyển đổi số năm 2026 của UBND TP.HCM",
}
TERMINATE = {
    "decision": "terminate",
    "decision_rationale": "Chức năng đã có trên hệ thống dùng chung của thành phố.",
    "decision_legal_basis": "Chỉ đạo kiểm kê hạ tầng tại Trung tâm dữ liệu thành phố (12/2025)",
}


def demo_campaigns(store: CatalogStore) -> list[str]:
    """The demo's inventory campaigns (catalog.campaigns), so the dashboards show real progress: a finished trial
    round (Sở Tài chính confirms its systems, keep, and the architect closes it: its frozen result is in the change
    log) and the city-wide round, open for 30 days, in which Sở KH&CN has answered part of its list (one system to
    terminate) and the others nothing yet. Returns the campaigns opened (none when the departments are missing)."""
    import datetime as dt

    from catalog import campaigns

    architect = Principal("architect", "architect")
    stc = Principal("editor-stc", "editor", "organization:hcm-stc")
    skhcn = Principal("editor-skhcn", "editor", "organization:hcm-skhcn")
    wanted = ["organization:hcm-skhcn", "organization:hcm-stc", "organization:hcm-snv", "organization:hcm-syt"]
    if len(store.get_entities(wanted)) < len(wanted):
        return []
    today = store.clock().date()
    trial = campaigns.open_campaign(
        store,
        architect,
        id=TRIAL,
        name="Kiểm kê thử: hệ thống của Sở Tài chính",
        orgs=["organization:hcm-stc"],
        kinds=["system"],
        deadline=today.isoformat(),
    )
    refs = [t.entity.ref for t in campaigns.tasks(store, trial)]
    campaigns.confirm(store, stc, trial.id, refs, KEEP)
    campaigns.close(store, architect, trial.id)
    city = campaigns.open_campaign(
        store,
        architect,
        id=CITY,
        name="Kiểm kê hệ thống, phần mềm, CSDL tại Trung tâm dữ liệu thành phố",
        orgs=wanted,
        kinds=["system", "database", "platform"],
        deadline=(today + dt.timedelta(days=30)).isoformat(),
    )
    mine = [t.entity.ref for t in campaigns.tasks(store, city, campaigns.editor_orgs(store, skhcn))]
    systems = [r for r in mine if r.startswith("system:")]
    if systems:
        campaigns.confirm(store, skhcn, city.id, systems[:1], TERMINATE)
        campaigns.confirm(store, skhcn, city.id, systems[1:5], KEEP)
    others = [r for r in mine if not r.startswith("system:")][:4]
    if others:
        campaigns.confirm(store, skhcn, city.id, others)
    return [trial.id, city.id]


__all__ = ["demo_campaigns", "demo_edits"]
