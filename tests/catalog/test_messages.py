"""The message catalog is complete: every code the code can raise has a text in Vietnamese and in English with the
same placeholders, the compiled catalogs are those of the .po files, and every msg(...) names its code literally (so
that extraction sees it)."""

from __future__ import annotations

import ast
import re
import string

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from catalog import i18n
from catalog.i18n import LANGS, LOCALE_DIR, ROOT, SOURCES, msg, msg_plural, source_codes, text

PO = {lang: LOCALE_DIR / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.po" for lang in LANGS}
MO = {lang: p.with_suffix(".mo") for lang, p in PO.items()}


def _catalog(lang: str):
    with PO[lang].open("rb") as fh:
        return read_po(fh, locale=lang)


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bool]:
    """Every code in the sources and templates, as ``python -m catalog.i18n`` extracts them (pybabel, plus nested
    calls): code -> whether it has plural forms."""
    pot = i18n.extract(tmp_path_factory.mktemp("pot") / "ioc_catalog.pot")
    with pot.open("rb") as fh:
        template = read_po(fh)
    return {(m.id[0] if isinstance(m.id, tuple) else m.id): isinstance(m.id, tuple) for m in template if m.id}


def test_extraction_finds_the_codes_the_sources_raise(extracted: dict[str, bool]) -> None:
    assert {
        "entity-not-found",
        "value-one-of",
        "import-too-large",
        "title-not-found",
        "pydantic-missing",
        "text-control",
        "event-named-twice",
        "at-cell",
    } <= set(extracted)
    assert extracted["import-strict-rejected"] is True and extracted["entity-not-found"] is False
    assert set(source_codes()) <= set(extracted)  # nested msg() calls too, which pybabel alone misses


def test_every_code_has_a_text_in_both_languages_with_the_same_placeholders(extracted: dict[str, bool]) -> None:
    catalogs = {
        lang: {(m.id[0] if isinstance(m.id, tuple) else m.id): m for m in _catalog(lang) if m.id} for lang in LANGS
    }
    problems = []
    for code, plural in sorted(extracted.items()):
        forms = {}
        for lang in LANGS:
            m = catalogs[lang].get(code)
            strings = list(m.string if isinstance(m.string, tuple) else (m.string,)) if m else []
            if not strings or not all(s and s.strip() for s in strings):
                problems.append(f"{lang}: {code} has no text")
                continue
            if plural != isinstance(m.id, tuple):
                problems.append(f"{lang}: {code} {'needs' if plural else 'has'} plural forms")
            forms[lang] = strings
        if len(forms) == 2:
            fields = {lang: set().union(*(_fields(s) for s in forms[lang])) for lang in LANGS}
            if fields["vi"] != fields["en"]:
                problems.append(f"{code}: placeholders differ: vi {sorted(fields['vi'])}, en {sorted(fields['en'])}")
    assert problems == []


def _key(mid: object) -> str:
    return str(mid[0]) if isinstance(mid, (list, tuple)) else str(mid)


def _value(string: object) -> tuple[str, ...]:
    return tuple(string) if isinstance(string, (list, tuple)) else (str(string or ""),)


def test_the_compiled_catalogs_are_those_of_the_po_files() -> None:
    for lang in LANGS:
        # the entries, not the files' times: a git checkout gives both files the time it wrote them
        with MO[lang].open("rb") as fh:
            compiled = {_key(m.id): _value(m.string) for m in read_mo(fh) if m.id}
        written = {
            _key(m.id): _value(m.string)
            for m in _catalog(lang)
            if m.id and any(_value(m.string)) and "fuzzy" not in m.flags
        }
        assert compiled == written, f"{MO[lang]} is not compiled from its .po: run python -m catalog.i18n"


# functions named like extraction keywords (catalog.i18n.KEYWORDS: the templates' _, gettext, ngettext) may pass
# their own code parameter on: extraction reads the literal codes where they are called
WRAPPERS = ("_", "gettext", "ngettext", "say", "say_plural")


def _calls(tree: ast.AST) -> list[ast.Call]:
    wrapped = {
        id(n)
        for f in ast.walk(tree)
        if isinstance(f, (ast.FunctionDef, ast.Lambda)) and getattr(f, "name", "") in WRAPPERS
        for n in ast.walk(f)
    }
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and id(n) not in wrapped
        and (getattr(n.func, "id", None) or getattr(n.func, "attr", None)) in ("msg", "msg_plural")
    ]


def test_every_msg_call_names_its_code_literally() -> None:
    """msg(code) with a code computed at run time would be invisible to extraction: its texts could be missing."""
    bad = []
    for root in SOURCES:
        for path in sorted((ROOT / root).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for call in _calls(tree):
                if path.name == "i18n.py" and path.parent.name == "catalog":
                    continue  # the definitions themselves
                first = call.args[0] if call.args else None
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    bad.append(f"{path.relative_to(ROOT)}:{call.lineno}")
                elif getattr(call.func, "id", getattr(call.func, "attr", "")) == "msg_plural":
                    second = call.args[1] if len(call.args) > 1 else None
                    if not (isinstance(second, ast.Constant) and second.value == first.value + i18n.PLURAL):
                        bad.append(f"{path.relative_to(ROOT)}:{call.lineno} (plural id)")
    assert bad == []


def test_a_message_is_its_english_text_and_renders_per_language() -> None:
    m = msg("entity-not-found", ref="system:x")
    assert m == "system:x does not exist" and text(m, "vi") == "system:x không tồn tại"
    assert m.code == "entity-not-found"
    one, many = (msg_plural("import-strict-rejected", "import-strict-rejected#plural", count=n) for n in (1, 3))
    assert (str(one), str(many)) == (
        "1 item rejected; nothing imported (strict)",
        "3 items rejected; nothing imported (strict)",
    )
    assert text(many, "vi") == "3 mục bị từ chối; không nhập gì (chế độ nghiêm ngặt)"
    big = msg("import-too-large", file="f.json", size=2048, limit=1_048_576)
    assert "2,048 bytes" in big and "1,048,576" in big and "2.048 byte" in text(big, "vi")  # numbers per locale
    import datetime as dt

    day = msg("ref-dissolved", ref="organization:a", day=dt.date(2025, 3, 1))
    assert "on 2025-03-01" in day and "ngày 01/03/2025" in text(day, "vi")  # dates per locale
    nested = msg("import-cell-too-long", where=msg("at-cell", where="f.csv", row=2, column="B"), chars=5, limit=4)
    assert text(nested, "vi").startswith("f.csv, dòng 2, cột B: ô dài 5 ký tự")


def test_no_translation_by_pattern_matching_is_left() -> None:
    for name in ("importers/base.py", "api/messages.py"):
        source = (ROOT / name).read_text(encoding="utf-8")
        assert not re.search(r"re\.compile|re\.sub", source), name
