"""The sample HCMC catalog: big enough, names what the source documents name, every fact marked real or not."""

from __future__ import annotations

import json
from collections import Counter

from conftest import SAMPLE

from catalog.model import OrgEvent, parse_entity, parse_relationship, validate_entity, validate_relationship

DOC = json.loads(SAMPLE.read_text(encoding="utf-8"))
KINDS = Counter(e["ref"].split(":")[0] for e in DOC["entities"])
REFS = {e["ref"] for e in DOC["entities"]}


def test_sizes_meet_the_issue() -> None:
    assert KINDS["organization"] >= 15
    assert KINDS["system"] >= 40
    assert KINDS["database"] >= 15
    assert len(DOC["relationships"]) >= 80
    national = [
        e for e in DOC["entities"] if e["ref"].startswith("database:") and e["attributes"].get("scope") == "national"
    ]
    shared = [
        e
        for e in DOC["entities"]
        if e["ref"].startswith("database:") and e["attributes"].get("scope") in ("shared", "warehouse")
    ]
    assert len(national) >= 5 and len(shared) >= 4


def test_names_the_systems_of_the_source_documents() -> None:
    required = {
        "platform:hcm-ioc",  # the city IOC
        "system:hcm-cong-1022",  # 1022 citizen-feedback portal
        "system:hcm-ttkc-113-114-115",  # emergency information centre
        "platform:hcm-ioc-quan-1",
        "platform:hcm-ioc-thu-duc",  # district IOCs
        "system:hcm-dich-vu-cong",  # public-service system
        "platform:hcm-kho-du-lieu",  # shared data warehouse
        "database:hcm-csdl-nguoi-dan",
        "database:hcm-csdl-doanh-nghiep",
        "database:hcm-csdl-ban-do-so",
        "database:hcm-csdl-danh-muc",  # its four foundation databases
        "database:vn-csdl-dan-cu",
        "database:vn-csdl-dat-dai",  # national population and land databases
        "platform:hcm-lgsp",
        "platform:vn-ndxp",
        "system:hn-mang-dung-chung",
        "database:hn-csdl-dat-dai",
        "system:hn-ihanoi",  # Hà Nội
        "platform:hue-ioc",
        "system:hue-hue-s",
        "system:hue-do-thi-so-quy-hoach",
        "system:hue-du-lich-thong-minh",  # Huế
        "system:hcm-utmc",
        "system:hcm-scada-ngap",
        "system:hcm-cong-dan-so",
        "system:hcm-soc",
        "system:hcm-mo-phong-du-bao",
    }
    assert required <= REFS


def test_every_entity_is_valid_bilingual_and_marked_documented_or_illustrative() -> None:
    for e in DOC["entities"]:
        entity = validate_entity(parse_entity(e))
        assert entity.name.vi and entity.name.en, entity.ref
        assert entity.attributes.get("evidence") in ("documented", "illustrative"), entity.ref
        if entity.attributes["evidence"] == "documented":
            assert entity.attributes.get("evidence_note"), entity.ref
    for r in DOC["relationships"]:
        rel = validate_relationship(parse_relationship(r))
        assert rel.source in REFS and rel.target in REFS
    for v in DOC["org_events"]:
        ev = OrgEvent.model_validate(v)
        assert set(ev.from_ + ev.to) <= REFS and ev.legal_basis


def test_models_the_2025_reorganisation() -> None:
    types = Counter(v["type"] for v in DOC["org_events"])
    assert types["absorb"] + types["merge"] >= 5 and types["reestablish"] >= 1 and types["dissolve"] >= 1
    dates = {v["date"] for v in DOC["org_events"]}
    assert {"2025-03-01", "2025-07-01", "2025-10-01"} <= dates
    moved = [e["ref"] for e in DOC["entities"] if len(e.get("owner_history", [])) >= 2]
    assert len(moved) >= 5
