"""Compliance rules: each rule fires on a crafted entity and not on a compliant one; completeness; the rules file;
and the deliberate findings of the HCMC sample catalog."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import entity, rel

from catalog import compliance
from catalog.compliance import CheckContext, Hit, rule_check
from catalog.errors import ValidationFailed
from catalog.model import Entity, parse_entity, validate_entity
from catalog.store.base import CatalogStore, WriteContext

TODAY = dt.date(2026, 6, 1)
A, B = "organization:a", "organization:b"


def owned(ref: str, history: list[tuple[str, str | None, str | None]], name: str, **attrs: Any) -> Entity:
    """An entity with an explicit ownership history [(org, start, end), ...]."""
    kind = ref.split(":", 1)[0]
    defaults = {
        "system": {"lifecycle": "production"},
        "platform": {"lifecycle": "production", "platform_type": "integration"},
    }[kind]
    return validate_entity(
        parse_entity(
            {
                "ref": ref,
                "name": {"vi": name, "en": name},
                "attributes": {**defaults, **attrs},
                "owner_history": [{"org": o, "start": s, "end": e} for o, s, e in history],
            }
        )
    )


def load(store: CatalogStore, ctx: WriteContext, entities: list[Entity], relationships: list = ()) -> None:
    with store.transaction(ctx):
        for e in entities:
            store.create_entity(e, ctx)
        for r in relationships:
            store.create_relationship(r, ctx)


def flagged(store: CatalogStore, code: str, today: dt.date = TODAY) -> set[str]:
    report = compliance.check(store, today=today, rules=[code])
    assert {f.rule for f in report.findings} <= {code}
    return {f.ref for f in report.findings}


ORGS = [entity(A, "Sở A"), entity(B, "Sở B")]
OK_SYSTEM = {"security_level": 3, "security_status": "approved", "last_reviewed": "2026-01-10"}


def test_cr001_production_system_without_owner(store: CatalogStore, ctx: WriteContext) -> None:
    load(
        store,
        ctx,
        ORGS
        + [
            entity("system:bad", "Không chủ quản"),
            entity("system:good", "Có chủ quản", A),
            entity("system:planned", "Dự kiến", lifecycle="planned"),
        ],
    )
    assert flagged(store, "CR001") == {"system:bad"}


def test_cr002_security_level_missing(store: CatalogStore, ctx: WriteContext) -> None:
    load(
        store,
        ctx,
        ORGS
        + [
            entity("system:bad", "Thiếu cấp độ", A),
            entity("platform:bad", "Nền tảng thiếu cấp độ", A),
            entity("system:good", "Có cấp độ", A, security_level=2),
            entity("system:building", "Đang xây dựng", A, lifecycle="building"),
        ],
    )
    assert flagged(store, "CR002") == {"system:bad", "platform:bad"}


def test_cr003_security_level_not_approved(store: CatalogStore, ctx: WriteContext) -> None:
    load(
        store,
        ctx,
        ORGS
        + [
            entity("system:proposed", "Đề xuất", A, security_level=3, security_status="proposed"),
            entity("system:unknown", "Chưa rõ", A, security_level=2),
            entity("system:good", "Đã phê duyệt", A, security_level=3, security_status="approved"),
            entity("system:none", "Không cấp độ", A),
        ],
    )  # CR002's business
    assert flagged(store, "CR003") == {"system:proposed", "system:unknown"}
    finding = next(
        f for f in compliance.check(store, today=TODAY, rules=["CR003"]).findings if f.ref == "system:proposed"
    )
    # the value shown by its label, not its code
    assert finding.message_en == "Security level 3 of “Đề xuất” is not approved (status: Proposed)"
    assert finding.severity == "warning"


def test_cr004_sensitive_data_without_data_owner(store: CatalogStore, ctx: WriteContext) -> None:
    load(
        store,
        ctx,
        ORGS
        + [
            entity("database:bad", "Khuôn mặt", A, personal_data="sensitive"),
            entity("database:good", "Khuôn mặt 2", A, personal_data="sensitive", data_owner=A),
            entity("database:basic", "Cơ bản", A, personal_data="basic"),
        ],
    )
    assert flagged(store, "CR004") == {"database:bad"}


def test_cr005_inter_department_flow_bypassing_the_lgsp(store: CatalogStore, ctx: WriteContext) -> None:
    lgsp, esb = "platform:lgsp", "platform:esb"
    load(
        store,
        ctx,
        ORGS
        + [
            entity("system:a1", "A1", A),
            entity("system:a2", "A2", A),
            entity("system:b1", "B1", B),
            entity("system:b2", "B2", B),
            entity("system:b3", "B3", B),
            entity(lgsp, "LGSP", A, platform_subtype="lgsp"),
            entity(esb, "ESB", A, platform_subtype="esb"),
        ],
        [
            rel("flows_to", "system:a1", "system:b1"),  # bypass: no via
            rel("flows_to", "system:a2", "system:b2", via=esb),  # bypass: via a platform that is not the LGSP/NDXP
            rel("flows_to", "system:a1", "system:b3", via=lgsp),  # compliant
            rel("flows_to", "system:a1", "system:a2"),  # same organisation: not inter-department
        ],
    )
    report = compliance.check(store, today=TODAY, rules=["CR005"])
    assert {(f.ref, f.detail["target"]) for f in report.findings} == {
        ("system:a1", "system:b1"),
        ("system:a2", "system:b2"),
    }


def test_cr006_not_reviewed_for_twelve_months(store: CatalogStore, ctx: WriteContext) -> None:
    load(
        store,
        ctx,
        ORGS
        + [
            entity("system:stale", "Cũ", A, last_reviewed="2025-05-31"),
            entity("system:never", "Chưa rà soát", A),
            entity("system:fresh", "Mới", A, last_reviewed="2025-06-01"),
            entity("system:retired", "Đã dừng", A, lifecycle="retired"),
        ],
    )
    assert flagged(store, "CR006") == {"system:stale", "system:never"}
    assert flagged(store, "CR006", today=dt.date(2026, 6, 2)) == {"system:stale", "system:never", "system:fresh"}


def test_cr007_retired_system_still_feeding_the_ioc(store: CatalogStore, ctx: WriteContext) -> None:
    ioc, oc = "platform:ioc", "platform:oc"
    load(
        store,
        ctx,
        ORGS
        + [
            entity(ioc, "IOC", A, platform_type="operations_centre", platform_subtype="city_ioc"),
            entity(oc, "Trung tâm ngành", A, platform_type="operations_centre", platform_subtype="sector_oc"),
            entity("system:retired", "Đã dừng", A, lifecycle="retired"),
            entity("system:retiring", "Sắp dừng", A, lifecycle="retiring"),
            entity("system:live", "Đang chạy", A),
            entity("system:old-sector", "Cũ (ngành)", A, lifecycle="retired"),
            entity("system:cut", "Đã cắt", A, lifecycle="retired"),
        ],
        [
            rel("feeds", "system:retired", ioc),
            rel("feeds", "system:retiring", ioc),
            rel("feeds", "system:live", ioc),
            rel("feeds", "system:old-sector", oc),
            rel("feeds", "system:cut", ioc, status="retired"),
        ],
    )
    assert flagged(store, "CR007") == {"system:retired", "system:retiring"}


def test_cr008_reference_to_a_dissolved_organisation(store: CatalogStore, ctx: WriteContext) -> None:
    gone = entity("organization:gone", "UBND Quận cũ", status="dissolved")
    ended = entity("organization:ended", "Sở đã sáp nhập").model_copy(update={"valid_to": dt.date(2025, 3, 1)})
    later = entity("organization:later", "Giải thể sau").model_copy(update={"valid_to": dt.date(2027, 1, 1)})
    load(
        store,
        ctx,
        ORGS
        + [
            gone,
            ended,
            later,
            entity("system:owned", "Chủ quản cũ", "organization:gone"),
            entity("system:operated", "Vận hành bởi sở cũ", A),
            entity("organization:child", "Phòng", parent="organization:ended"),
            entity("database:data", "Dữ liệu", A, data_owner="organization:gone"),
            entity("system:fine", "Bình thường", "organization:later"),
        ],
        [rel("operated_by", "system:operated", "organization:ended")],
    )
    report = compliance.check(store, today=TODAY, rules=["CR008"])
    assert {(f.ref, f.detail["role"]) for f in report.findings} == {
        ("system:owned", "owner"),
        ("system:operated", "operated_by"),
        ("organization:child", "parent"),
        ("database:data", "data_owner"),
    }
    owned_finding = next(f for f in report.findings if f.ref == "system:owned")
    assert "UBND Quận cũ" in owned_finding.message_vi


def test_cr009_duplicate_names_across_merged_organisations(store: CatalogStore, ctx: WriteContext) -> None:
    load(
        store,
        ctx,
        ORGS
        + [
            entity("organization:c", "Sở C"),
            # now both owned by A, but one came from B (a merged organisation)
            owned("platform:lgsp-a", [(A, None, None)], "Nền tảng LGSP"),
            owned("platform:lgsp-b", [(B, None, "2025-07-01"), (A, "2025-07-01", None)], "NỀN TẢNG lgsp"),
            # different owners today, names equal once folded
            entity("system:ioc-a", "Hệ thống IOC", A),
            entity("system:ioc-c", "He thong IOC", "organization:c"),
            # same name and same owner: not across organisations
            entity("system:x1", "Trùng", A),
            entity("system:x2", "Trùng", A),
            # same name, different kind
            entity("database:ioc", "Hệ thống IOC", B),
        ],
    )
    assert flagged(store, "CR009") == {"platform:lgsp-a", "platform:lgsp-b", "system:ioc-a", "system:ioc-c"}


def test_cr010_missing_english_name(store: CatalogStore, ctx: WriteContext) -> None:
    vi_only = validate_entity(
        parse_entity(
            {
                "ref": "system:vi-only",
                "name": {"vi": "Chỉ tiếng Việt"},
                "owner": A,
                "attributes": {"lifecycle": "production"},
            }
        )
    )
    load(store, ctx, ORGS + [vi_only, entity("system:both", "Song ngữ", A)])
    assert flagged(store, "CR010") == {"system:vi-only"}


def test_cr011_service_not_published(store: CatalogStore, ctx: WriteContext) -> None:
    load(
        store,
        ctx,
        ORGS
        + [
            entity("platform:lgsp", "LGSP", A, platform_subtype="lgsp"),
            entity("service:hidden", "Chưa công bố", A),
            entity("service:published", "Đã công bố", A),
            entity("service:planned", "Dự kiến", A, lifecycle="planned"),
        ],
        [rel("published_on", "service:published", "platform:lgsp")],
    )
    assert flagged(store, "CR011") == {"service:hidden"}


def test_cr012_database_without_reader_or_writer(store: CatalogStore, ctx: WriteContext) -> None:
    load(
        store,
        ctx,
        ORGS
        + [
            entity("system:s", "S", A),
            entity("database:unused", "Không dùng", A),
            entity("database:read", "Được đọc", A),
            entity("database:written", "Được ghi", A),
            entity("database:retired", "Đã dừng", A, lifecycle="retired"),
        ],
        [rel("reads", "system:s", "database:read"), rel("writes", "system:s", "database:written")],
    )
    assert flagged(store, "CR012") == {"database:unused"}


def test_completeness_full_versus_sparse_organisation(store: CatalogStore, ctx: WriteContext) -> None:
    full = {
        "evidence": "documented",
        "evidence_note": "Quyết định 1",
        "url": "https://a.gov.vn",
        "last_reviewed": "2026-05-01",
        "criticality": "high",
        "system_type": "public_facing",
        "security_level": 3,
        "security_status": "approved",
        "security_decision": "QĐ 12/QĐ-UBND",
        "security_decision_date": "2024-01-01",
        "hosting": "Trung tâm dữ liệu",
        "vendor": "VNPT",
        "users": 100,
        "decision": "keep",
        "decision_rationale": "Đang dùng",
        "decision_legal_basis": "Nghị quyết 1",
    }
    declared = {a.name for a in store.metamodel.kinds["system"].attributes if not a.kept}
    assert set(full) | {"lifecycle"} == declared  # the test really fills every declared attribute
    load(store, ctx, ORGS + [entity("system:full", "Đầy đủ", A, **full), entity("system:sparse", "Sơ sài", B)])
    report = compliance.check(store, today=TODAY)
    assert set(report.completeness) == {A, B}
    assert report.completeness[A].score == 100.0
    # sparse: only the required lifecycle (weight 2) out of 1 required + 16 optional attributes (weight 18)
    assert report.completeness[B].score == round(100 * 2 / 18, 1)
    assert report.completeness[A].entities == report.completeness[B].entities == 1
    assert report.completeness[A].findings == {"error": 0, "warning": 0, "info": 0}
    # sparse: no security level (CR002, error) and never reviewed (CR006, warning)
    assert report.completeness[B].findings == {"error": 1, "warning": 1, "info": 0}


def test_report_is_sorted_and_bilingual(store: CatalogStore, ctx: WriteContext) -> None:
    load(store, ctx, ORGS + [entity("system:z", "Hệ thống Z"), entity("system:a", "Hệ thống A")])
    report = compliance.check(store, today=TODAY)
    keys = [(f.rule, f.ref) for f in report.findings]
    assert keys == sorted(keys)
    assert ("CR001", "system:a") in keys and ("CR001", "system:z") in keys
    f = next(f for f in report.findings if (f.rule, f.ref) == ("CR001", "system:a"))
    assert (f.message_vi, f.message_en) == (
        "Hệ thống đang vận hành “Hệ thống A” chưa có cơ quan chủ quản",
        "Production system “Hệ thống A” has no owner",
    )


def test_rules_file_has_at_least_ten_valid_rules() -> None:
    rules = compliance.load_rules()
    assert len(rules) >= 10
    assert len({r.code for r in rules}) == len(rules)
    assert all(r.severity in compliance.SEVERITIES and r.message.vi and r.message.en and r.description for r in rules)


def test_unknown_check_is_a_clear_error(tmp_path: Path, store: CatalogStore) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n  - {code: X001, severity: error, check: no_such_check, description: x,\n"
        "     message: {vi: 'x {name}', en: 'x {name}'}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as exc:
        compliance.check(store, rules_file=path)
    assert "unknown check 'no_such_check'" in str(exc.value)
    assert "production_without_owner" in str(exc.value)  # names what is registered


def test_unknown_rule_code_is_an_error(store: CatalogStore) -> None:
    with pytest.raises(ValidationFailed):
        compliance.check(store, rules=["CR999"])


def test_an_extension_registers_a_check_like_the_built_ins(
    tmp_path: Path, store: CatalogStore, ctx: WriteContext
) -> None:
    @rule_check("test_vendor_missing")
    def vendor_missing(check_ctx: CheckContext, params: dict[str, Any]) -> list[Hit]:
        return [
            Hit(e.ref, {"field": params["field"]})
            for e in check_ctx.current(["system"])
            if not e.attributes.get(params["field"])
        ]

    path = tmp_path / "rules.yaml"
    path.write_text(
        "builtin_rules: replace\nrules:\n  - code: EXT001\n    severity: info\n"
        "    check: test_vendor_missing\n    params: {field: vendor}\n    description: vendor is unknown\n"
        "    message: {vi: '{name} thiếu {field}', en: '{name} lacks {field}'}\n",
        encoding="utf-8",
    )
    load(store, ctx, ORGS + [entity("system:v", "Có", A, vendor="VNPT"), entity("system:n", "Không", A)])
    compliance.CHECKS.register("test_vendor_missing", vendor_missing)
    try:
        report = compliance.check(store, today=TODAY, rules_file=path)
    finally:
        compliance.CHECKS.reset()  # the registry as installed again, for the tests that follow
    assert [(f.rule, f.ref, f.message_en) for f in report.findings] == [("EXT001", "system:n", "Không lacks vendor")]


# ---------------------------------------------------------------------------------------------------------------
# The HCMC sample catalog: the gaps its README places on purpose are found

SAMPLE_TODAY = dt.date(2026, 11, 25)  # the sample's reviews are dated against this day

# rule -> refs that must be among its findings on the sample
SAMPLE_EXPECTED: dict[str, set[str]] = {
    "CR002": {"system:hcm-camera-ai", "system:hcm-hop-truc-tuyen", "system:bd-quan-ly-van-ban"},
    "CR003": {
        "system:hcm-cong-dan-so",
        "system:hcm-scada-ngap",
        "system:hue-do-thi-so-quy-hoach",
        "system:hue-du-lich-thong-minh",
    },
    "CR004": {"database:hcm-csdl-camera-khuon-mat"},
    "CR005": {"system:hcm-lao-dong-nuoc-ngoai"},
    "CR006": {"system:hcm-hop-truc-tuyen", "system:hcm-thu-dien-tu", "platform:hue-lgsp"},
    "CR007": {"platform:hcm-ioc-quan-1", "system:hcm-quan-1-camera"},
    "CR008": {"platform:hcm-ioc-quan-1", "system:hcm-quan-1-camera"},
    "CR009": {"platform:hcm-lgsp", "platform:bd-lgsp", "platform:hcm-ioc", "platform:bd-ioc"},
    "CR011": {"service:vn-api-truc-van-ban"},
    "CR012": {"database:vn-csdl-dan-cu"},
}
# The sample has every production system owned and every entity named in both languages: nothing to find.
SAMPLE_CLEAN = {"CR001", "CR010"}


def test_sample_deliberate_findings(sample: CatalogStore) -> None:
    report = compliance.check(sample, today=SAMPLE_TODAY)
    found = {code: {f.ref for f in fs} for code, fs in report.by_rule().items()}
    assert set(found) == set(SAMPLE_EXPECTED) | SAMPLE_CLEAN  # every rule ran
    for code, expected in SAMPLE_EXPECTED.items():
        assert expected <= found[code], code
    for code in SAMPLE_CLEAN:
        assert found[code] == set(), code
    # exact where the sample's README is exhaustive
    assert found["CR002"] == SAMPLE_EXPECTED["CR002"]
    assert found["CR004"] == SAMPLE_EXPECTED["CR004"]
    assert found["CR005"] == SAMPLE_EXPECTED["CR005"]  # the same-department video stream is not a finding
    assert found["CR006"] == SAMPLE_EXPECTED["CR006"]
    assert found["CR008"] == SAMPLE_EXPECTED["CR008"]  # Thủ Đức's assets were transferred properly
    bypass = next(f for f in report.findings if f.rule == "CR005")
    assert bypass.detail["target"] == "system:hcm-dang-ky-kinh-doanh"
    assert all(0 <= s.score <= 100 for s in report.completeness.values())


def test_report_json_and_csv_are_the_one_export_shape() -> None:
    import csv
    import io

    from catalog.compliance import Finding, OrgScore, Report

    report = Report(
        today=dt.date(2026, 1, 15),
        rules=["CR009"],
        findings=[
            Finding(
                "CR009",
                "warning",
                "system:x",
                "=HYPERLINK(\"http://x\")",
                "not reviewed",
                {"last_reviewed": dt.date(2024, 1, 1)},
            )
        ],
        completeness={"organization:a": OrgScore("organization:a", 50.0, 2, {"warning": 1})},
    )
    body = report.to_json()
    assert json.loads(json.dumps(body)) == body
    assert body["today"] == "2026-01-15" and body["findings"][0]["detail"] == {"last_reviewed": "2024-01-01"}
    assert body["completeness"]["organization:a"]["score"] == 50.0
    rows = list(csv.reader(io.StringIO(report.to_csv().decode("utf-8-sig"))))
    assert rows[0] == ["rule", "severity", "ref", "message_vi", "message_en"]
    assert rows[1][3] == "'=HYPERLINK(\"http://x\")"  # shown as text by a spreadsheet, never evaluated
