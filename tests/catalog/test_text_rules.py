"""The text rules (catalog.text) and the one validation every door goes through: control characters, lone
surrogates, bidirectional overrides/isolates and noncharacters are refused by the catalog itself, whoever writes
(service, drafts, importers); text is stored NFC; what a catalog stored before the rules still reads."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from conftest import entity
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from catalog.drafts import Drafts
from catalog.errors import ValidationFailed
from catalog.i18n import text
from catalog.model import (
    OrgEvent,
    parse_entity,
    parse_relationship,
    validate_entity,
    validate_event,
    validate_relationship,
)
from catalog.permissions import SYSTEM, Principal
from catalog.services import CatalogService
from catalog.store.base import CatalogStore, WriteContext
from catalog.text import (
    TEXT_REASONS,
    echoable,
    reason_code,
    text_problem,
    text_problems,
    text_reason,
    utf8_text,
    xml_text,
)
from importers.base import run_import

HOSTILE = {  # what the hostile tester typed into names, and its rule
    "NUL": ("a\x00b", "text-control"),
    "BEL": ("a\x07b", "text-control"),
    "vertical tab": ("a\x0bb", "text-control"),
    "escape": ("\x1b[31mred", "text-control"),
    "DEL": ("a\x7fb", "text-control"),
    "C1 NEL": ("a\x85b", "text-control"),
    "RLO": ("exe.\u202etxt", "text-bidi"),
    "LRI isolate": ("\u2066x\u2069", "text-bidi"),
    "lone surrogate": ("a\ud800b", "text-surrogate"),
    "low surrogate": ("\udfff", "text-surrogate"),
    "U+FFFE": ("a\ufffeb", "text-noncharacter"),
    "U+FFFF": ("\uffff", "text-noncharacter"),
    "U+FDD0": ("\ufdd0", "text-noncharacter"),
    "plane-16 noncharacter": ("\U0010ffff", "text-noncharacter"),
}
FINE = [
    "Sở Thông tin và Truyền thông",
    "tab\there",
    "two\nlines",
    "windows\r\nlines",
    "emoji 🏙️",
    "ﬁ ligature",
    "Arabic العربية and Hebrew עברית (no override)",
    "zero\u200bwidth",
    "",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_text_problem_names_the_rule_a_string_breaks(name: str) -> None:
    text, code = HOSTILE[name]
    assert text_problem(text) == code
    assert [(e.location, reason_code(e.reason)) for e in text_problems({"name": {"vi": text}})] == [("name.vi", code)]


@pytest.mark.parametrize("text", FINE)
def test_tabs_line_breaks_and_any_script_are_text(text: str) -> None:
    assert text_problem(text) is None
    assert text_problem(unicodedata.normalize("NFD", text)) is None  # NFD is accepted (and stored NFC)


def test_a_key_is_checked_and_its_problem_hides_its_value() -> None:
    errors = text_problems({"attributes": {"ven\x07dor": "\u202e", "ok": ["fine", {"deep\ud800": 1}]}})
    assert [(e.location, reason_code(e.reason)) for e in errors] == [
        ("attributes.ven\x07dor", "text-control"),
        ("attributes.ok.1.deep\ud800", "text-surrogate"),
    ]


def test_a_reason_is_english_and_carries_the_code_of_its_two_texts() -> None:
    for code in TEXT_REASONS:
        r = text_reason(code)
        vi, en = text(r, "vi"), text(r, "en")
        assert r == en and r.code == code and reason_code(r) == code and vi and en and vi != en
        assert json.loads(json.dumps({"reason": r})) == {"reason": en}
    assert reason_code("must be text") == "must be text"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, blacklist_categories=()), max_size=30))
def test_every_writer_holds_any_text(text: str) -> None:
    echoable(text).encode("utf-8")  # a response can always repeat what was sent (no UnicodeEncodeError)
    utf8_text(text).encode("utf-8")
    held = xml_text(text)
    el = etree.Element("v")
    el.text = held  # lxml refuses what XML 1.0 cannot hold
    assert (etree.fromstring(etree.tostring(el)).text or "") == held
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        assert echoable(text) == text and utf8_text(text) == text
    if text_problem(text) is None:
        assert xml_text(text) == text  # text the rules accept needs no replacing anywhere


# --- validation: every field, every model -------------------------------------------------------------------------


def _codes(exc: pytest.ExceptionInfo[ValidationFailed]) -> set[tuple[str, str]]:
    return {(e.location, reason_code(e.reason)) for e in exc.value.errors}


@pytest.mark.parametrize("name", ["NUL", "BEL", "vertical tab", "RLO", "U+FFFE"])
def test_entity_validation_refuses_the_text_in_every_field(name: str) -> None:
    bad, code = HOSTILE[name]
    data = {
        "kind": "system",
        "code": "s",
        "name": {"vi": f"x{bad}", "en": "x"},
        "description": {"vi": f"mô tả {bad}", "en": ""},
        "tags": [f"t{bad}"],
        "owner_history": [{"org": "organization:o", "basis": f"QĐ {bad}"}],
        "attributes": {"lifecycle": "production", "vendor": f"v{bad}", f"k{bad}": "x"},
    }
    with pytest.raises(ValidationFailed) as exc:
        validate_entity(parse_entity(data))
    assert {
        ("name.vi", code),
        ("description.vi", code),
        ("tags.0", code),
        ("owner_history.0.basis", code),
        ("attributes.vendor", code),
        (f"attributes.k{bad}", code),
    } <= _codes(exc)
    assert "contains" in exc.value.message  # English by default (the CLI prints this)


@pytest.mark.parametrize("name", ["NUL", "RLO", "U+FFFF"])
def test_relationship_and_event_validation_refuse_the_text(name: str) -> None:
    bad, code = HOSTILE[name]
    rel = parse_relationship(
        {"type": "reads", "source": "system:s", "target": "database:d", "properties": {"note": f"n{bad}", f"p{bad}": 1}}
    )
    with pytest.raises(ValidationFailed) as exc:
        validate_relationship(rel)
    assert {("properties.note", code), (f"properties.p{bad}", code)} <= _codes(exc)
    ev = OrgEvent.model_validate(
        {
            "id": "e1",
            "type": "rename",
            "date": "2026-01-01",
            "from": ["organization:o"],
            "legal_basis": f"QĐ{bad}",
            "note": bad,
            "new_name": {"vi": f"Sở {bad}"},
        }
    )
    with pytest.raises(ValidationFailed) as exc:
        validate_event(ev)
    assert _codes(exc) == {("legal_basis", code), ("note", code), ("new_name.vi", code)}


def test_a_lone_surrogate_is_refused_naming_the_field() -> None:
    """pydantic refuses a lone surrogate where a model declares a string (parsing stops it); the text rules refuse
    it in free values (attributes, properties)."""
    with pytest.raises(ValidationFailed) as exc:
        parse_entity({"kind": "system", "code": "s", "name": {"vi": "a\ud800"}, "attributes": {"lifecycle": "x"}})
    assert [e.location for e in exc.value.errors] == ["name.vi"]
    rel = parse_relationship(
        {"type": "reads", "source": "system:s", "target": "database:d", "properties": {"note": "\udc00"}}
    )
    with pytest.raises(ValidationFailed) as exc:
        validate_relationship(rel)
    assert _codes(exc) == {("properties.note", "text-surrogate")}


def test_validation_stores_every_string_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Quyết định số 12 của Sở")
    e = validate_entity(
        parse_entity(
            {
                "kind": "system",
                "code": "s",
                "name": {"vi": nfd},
                "owner_history": [{"org": "organization:o", "basis": nfd}],
                "attributes": {"lifecycle": "production", "vendor": nfd},
            }
        )
    )
    assert {e.name.vi, e.owner_history[0].basis, e.attributes["vendor"]} == {unicodedata.normalize("NFC", nfd)}
    ev = validate_event(
        OrgEvent.model_validate(
            {
                "id": "e1",
                "type": "dissolve",
                "date": "2026-01-01",
                "from": ["organization:o"],
                "note": nfd,
                "legal_basis": nfd,
            }
        )
    )
    assert ev.note == ev.legal_basis == unicodedata.normalize("NFC", nfd)


# --- every door, on every backend ---------------------------------------------------------------------------------


@pytest.fixture
def small(store: CatalogStore) -> CatalogStore:
    ctx = WriteContext(actor="tester")
    store.create_entity(entity("organization:o", name="Sở A"), ctx)
    store.create_entity(entity("organization:p", name="Sở B"), ctx)
    store.create_entity(entity("system:s", name="Hệ thống", owner="organization:o"), ctx)
    store.create_entity(entity("database:d", name="CSDL", owner="organization:o"), ctx)
    return store


def test_every_service_write_refuses_the_text_and_writes_nothing(small: CatalogStore) -> None:
    svc = CatalogService(small, SYSTEM)
    before = small.revision()
    bad = "Sở\x0bA\u202e"
    writes = [
        (
            "register",
            lambda: svc.register(
                {
                    "kind": "system",
                    "code": "t",
                    "name": {"vi": bad},
                    "owner": "organization:o",
                    "attributes": {"lifecycle": "planned"},
                }
            ),
            "name.vi",
        ),
        (
            "update",
            lambda: svc.update(
                "system:s",
                {"name": {"vi": bad}, "owner": "organization:o", "attributes": {"lifecycle": "production"}},
                small.get_entity("system:s").version,
            ),
            "name.vi",
        ),
        (
            "patch",
            lambda: svc.patch("system:s", {"attributes": {"vendor": bad}}, small.get_entity("system:s").version),
            "attributes.vendor",
        ),
        (
            "link",
            lambda: svc.link(
                {"type": "reads", "source": "system:s", "target": "database:d", "properties": {"data": bad}}
            ),
            "properties.data",
        ),
        (
            "event",
            lambda: svc.apply_event(
                {
                    "id": "e1",
                    "type": "transfer",
                    "date": "2026-01-01",
                    "transfers": [{"entity": "system:s", "to": "organization:p"}],
                    "note": bad,
                }
            ),
            "note",
        ),
    ]
    for what, write, field in writes:
        with pytest.raises(ValidationFailed) as exc:
            write()
        assert field in {e.location for e in exc.value.errors}, what
    assert small.revision() == before


def test_drafts_refuse_the_text_in_changes_notes_and_reasons(small: CatalogStore) -> None:
    editor = Principal("lan", "editor", "organization:o")
    drafts = Drafts(small, editor)
    version = small.get_entity("system:s").version
    for changes, note, field in (
        ({"name": {"vi": "a\x00b"}}, "", "name.vi"),
        ({"attributes": {"vendor": "\u2066x"}}, "", "attributes.vendor"),
        ({"attributes": {"vendor": "ok"}}, "xem\x07", "note"),
    ):
        with pytest.raises(ValidationFailed) as exc:
            drafts.submit("system:s", changes, version, "patch", note)
        assert field in {e.location for e in exc.value.errors}
    draft = drafts.submit("system:s", {"attributes": {"vendor": "ok"}}, version, "patch", "ổn")
    with pytest.raises(ValidationFailed) as exc:
        Drafts(small, SYSTEM).reject(draft.id, draft.version, "không\x1b[2J")
    assert [e.location for e in exc.value.errors] == ["reason"]


def test_an_import_rejects_the_text_with_its_place_in_both_languages(small: CatalogStore, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            {
                "format": "ioc-catalog",
                "format_version": 1,
                "entities": [
                    {
                        "ref": "system:t",
                        "name": {"vi": "Hệ\x07thống"},
                        "owner": "organization:o",
                        "attributes": {"lifecycle": "planned"},
                    }
                ],
                "relationships": [
                    {
                        "type": "reads",
                        "source": "system:s",
                        "target": "database:d",
                        "properties": {"data": "\u202edữ liệu"},
                    }
                ],
                "org_events": [
                    {"id": "e1", "type": "dissolve", "date": "2026-01-01", "from": ["organization:p"], "note": "a\x00"}
                ],
            }
        ),
        encoding="utf-8",
    )
    before = small.revision()
    report = run_import(small, path)
    assert not report.loaded and small.revision() == before
    got = {(r.field, r.reason, text(r.reason, "vi")) for r in report.rejected}
    control, bidi = text_reason("text-control"), text_reason("text-bidi")
    assert got == {
        ("name.vi", control, text(control, "vi")),
        ("properties.data", bidi, text(bidi, "vi")),
        ("note", control, text(control, "vi")),
    }
    assert "chứa ký tự điều khiển" in report.rejected[0].text("vi")


def test_text_stored_before_the_rules_still_reads_and_is_corrected_by_name(small: CatalogStore) -> None:
    """Written straight to the store (as a catalog from before these rules holds it): it reads back as stored; an
    edit that leaves it refuses naming the field; the edit that fixes it is accepted."""
    old = parse_entity(
        {
            "kind": "system",
            "code": "old",
            "name": {"vi": "cũ\x0b\u202e"},
            "owner": "organization:o",
            "attributes": {"lifecycle": "production"},
        }
    )
    small.create_entity(old, WriteContext(actor="before-the-rules"))
    assert small.get_entity("system:old").name.vi == "cũ\x0b\u202e"
    svc = CatalogService(small, SYSTEM)
    with pytest.raises(ValidationFailed) as exc:
        svc.patch("system:old", {"attributes": {"vendor": "x"}}, small.get_entity("system:old").version)
    assert [e.location for e in exc.value.errors] == ["name.vi"]
    fixed = svc.patch("system:old", {"name": {"vi": "cũ", "en": ""}}, small.get_entity("system:old").version)
    assert fixed.name.vi == "cũ"
