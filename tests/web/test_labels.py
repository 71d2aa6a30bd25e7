"""The web UI speaks one language per page and shows labels, never raw codes (issue 14): every main page, in
Vietnamese and in English, signed in as a department editor and as an architect, read as a person reads it
(``document.body.innerText`` in headless chromium, see tests/web/uitest.py).

On every page:
- no raw enumerated value of the metamodel (lifecycle, attribute values, relationship types, change-log
  operations, severities, statuses) stands as a word where its label in the page's language differs from it;
- no ``kind:code`` reference: entities are shown by name; a reference may appear only as small secondary text
  (``.ref``, checked to be smaller than the text around it) or a tooltip;
- a Vietnamese page holds no English sentence (English function words), an English page no Vietnamese word
  outside the catalog's own data (names, descriptions and notes people typed, read from the API).
Text in an element whose ``lang`` differs from the page's (the language switcher) is the other language on purpose.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from web.uitest import PAST, Session

from catalog.metamodel import DEFAULT, EVENT_LABELS, LIFECYCLE, ROLE_LABELS

SignedIn = Callable[[str | None], Session]

PAGES = (
    ("home", "/"),
    ("search", "/?q=ioc"),
    ("kind", "/?kind=system"),
    ("entity", "/entities/system:hcm-bao-cao"),
    ("entity-past", f"/entities/system:hcm-cong-1022?as_of={PAST}"),
    ("graph", "/entities/system:hcm-bao-cao/graph"),
    ("register", "/new?kind=system"),
    ("my-org", "/my-org?org=organization:hcm-skhcn"),
    ("bulk", "/my-org/bulk?org=organization:hcm-skhcn&field=lifecycle"),
    ("compliance", "/compliance?org=organization:hcm-skhcn"),
    ("asof", f"/asof?valid_on={PAST}"),
    ("changes", "/changes"),
    ("changes-filtered", "/changes?kind=event&org=organization:hcm-skhcn"),
    ("integrity", "/integrity"),
    ("drafts", "/drafts?status=approved"),
    ("import", "/import"),
    ("impact", "/impact?ref=database:hcm-csdl-danh-muc"),
    ("ioc-view", "/views/ioc"),
    ("diff", "/diff?from=2025-02-01&to=2025-08-01"),
)

# what a reader's eyes see: the body's text without the other-language switcher, and the small references
VISIBLE = """() => {
  const page = document.documentElement.lang;
  const body = document.body.cloneNode(true);
  body.querySelectorAll('[lang]').forEach(e => { if (e.lang !== page) e.remove(); });
  body.querySelectorAll('.ref, script, noscript').forEach(e => e.remove());
  const box = document.createElement('div');
  box.style.position = 'absolute'; box.style.left = '-99999px';
  box.appendChild(body); document.documentElement.appendChild(box);
  const text = box.innerText; box.remove();
  return text;
}"""
# every secondary reference is smaller than the text it stands in
REFS_SMALL = """() => Array.from(document.querySelectorAll('.ref')).filter(e => {
  const own = parseFloat(getComputedStyle(e).fontSize);
  const around = parseFloat(getComputedStyle(e.parentElement).fontSize);
  return !(own < around);
}).map(e => e.textContent)"""

# English function words that are not also Vietnamese words ("an", "to", "no" are)
ENGLISH = (
    "the",
    "and",
    "of",
    "is",
    "are",
    "for",
    "with",
    "this",
    "that",
    "not",
    "from",
    "by",
    "or",
    "on",
    "into",
    "your",
    "you",
    "what",
    "which",
    "has",
    "have",
    "be",
    "yet",
    "as",
    "at",
    "its",
    "it",
    "was",
    "were",
    "when",
)
VIETNAMESE = re.compile(r"[ăâđêôơưĂÂĐÊÔƠƯàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]")
REF = re.compile(r"\b(" + "|".join(DEFAULT.kinds) + r"):[a-z0-9][a-z0-9._-]*")


def _raw_codes(lang: str) -> set[str]:
    """Codes of enumerated values whose label in ``lang`` differs from the code: shown raw, they are a bug."""
    codes: dict[str, set[str]] = {}
    specs = [a for k in DEFAULT.kinds.values() for a in k.attributes if a.values] + [
        a for r in DEFAULT.relations.values() for a in r.properties if a.values
    ]
    for a in specs:
        for v in a.values:
            codes.setdefault(v, set()).add(a.value_label(v, lang))
    for name, r in DEFAULT.relations.items():
        codes.setdefault(name, set()).add(r.label.get(lang))
    for name, label in EVENT_LABELS.items():
        codes.setdefault(name, set()).add(label.get(lang))
    for word in ("create", "update", "delete", "error", "warning", "pending", "finished", "failed"):
        codes.setdefault(word, set()).add("")
    said = {w for labels in codes.values() for label in labels for w in re.findall(r"\w+", label)}
    out = {c for c, labels in codes.items() if c not in labels and c not in said}  # "production" in "In production"
    if lang == "en":  # plain English words may stand in English sentences; a code with "_" or from the issue may not
        out = {
            c
            for c in out
            if "_" in c
            or c in LIFECYCLE
            or c in DEFAULT.relations
            or c in ("create", "update", "delete", "error", "warning", "pending", "finished", "failed")
        }
    return out


def _catalog_words(s: Session) -> tuple[set[str], set[str]]:
    """Every word people typed into the catalog (names, descriptions, text attributes, relationships' properties,
    drafts), and those of it not written as English (outside ``en`` keys): a Vietnamese page may show the latter
    only."""
    texts: list[tuple[str, bool]] = []

    def walk(v: object, en: bool = False) -> None:
        if isinstance(v, str):
            texts.append((v, en))
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(x, en or k == "en")
        elif isinstance(v, list):
            for x in v:
                walk(x, en)

    offset = 0
    while True:
        r = s.page.request.get(f"{s.base}/api/v1/entities?limit=1000&offset={offset}")
        assert r.ok, r.text()
        items = r.json()["items"]
        walk(items)
        if len(items) < 1000:
            break
        offset += 1000
    r = s.page.request.get(f"{s.base}/api/v1/relationships?limit=10000")  # their properties: data carried, notes
    assert r.ok, r.text()
    walk(r.json()["items"])
    r = s.page.request.get(f"{s.base}/api/v1/entities/system:hcm-cong-1022?as_of={PAST}")  # as it was then
    assert r.ok, r.text()
    walk(r.json())
    r = s.page.request.get(f"{s.base}/api/v1/drafts?status=all&limit=1000")
    if r.ok:  # architects read drafts; editors are refused them, and their pages show none
        walk(r.json()["items"])
    words = {w for t, _ in texts for w in re.findall(r"\w+", t.lower())}
    return words, {w for t, en in texts if not en for w in re.findall(r"\w+", t.lower())}


def _problems(s: Session, lang: str, words: tuple[set[str], set[str]]) -> list[str]:
    text = labelled = s.page.evaluate(VISIBLE)
    found = []
    raw = _raw_codes(lang)
    for w in sorted(set(re.findall(r"(?<![\w:./-])[a-z][a-z0-9_]*(?![\w:/-])", labelled)) & raw):
        found.append(f"raw value {w!r}")
    found += [f"reference {m.group(0)!r}" for m in REF.finditer(labelled)]
    found += [f"reference not small: {r!r}" for r in s.page.evaluate(REFS_SMALL)]
    if lang == "vi":
        english = [w for w in re.findall(r"\w+", text) if w.lower() in ENGLISH and w.lower() not in words[1]]
        found += [f"English word {w!r}" for w in sorted(set(english))]
    else:
        vietnamese = {w for w in re.findall(r"\w+", text.lower()) if VIETNAMESE.search(w) and w not in words[0]}
        found += [f"Vietnamese word {w!r}" for w in sorted(vietnamese)]
    return found


@pytest.mark.parametrize("user", ["editor-skhcn", "architect"])
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_main_pages_show_labels_in_one_language(signed_in: SignedIn, user: str, lang: str, tmp_path: Path) -> None:
    words = _catalog_words(signed_in("architect"))  # who may read everything, the past included
    s = signed_in(user)
    problems: dict[str, list[str]] = {}
    for name, path in PAGES:
        s.goto(path + ("&" if "?" in path else "?") + f"lang={lang}")
        assert s.page.evaluate("document.documentElement.lang") == lang, (path, s.page.content()[:500])
        if name == "graph":
            s.page.wait_for_selector("#graph-list li")
        if name == "search":
            s.page.fill("#q", "cong")
            s.page.wait_for_selector("#results li")
        found = _problems(s, lang, words)
        if found:
            problems[name] = found
        if user == "architect" and name in ("entity", "changes"):
            s.page.screenshot(path=str(tmp_path / f"{lang}-{name}.png"))  # what the window shows
    assert problems == {}, "\n".join(f"{name}: {found}" for name, found in problems.items())


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_sign_in_page_and_header_in_one_language(signed_in: SignedIn, lang: str) -> None:
    s = signed_in(None)
    s.goto(f"/signin?lang={lang}")
    assert _problems(s, lang, (set(), set())) == []
    s.sign_in("editor-skhcn")
    s.goto(f"/?lang={lang}")
    who = s.page.inner_text("#who")
    assert "Sở Khoa học và Công nghệ" in who or "Science and Technology" in who, who  # the name, not the ref
    assert "organization:" not in who


def test_compliance_messages_show_labels(signed_in: SignedIn) -> None:
    s = signed_in("architect")
    raw = _raw_codes("vi")
    s.goto("/compliance?org=organization:hcm-skhcn&lang=vi")
    messages = s.page.locator(".finding").all_inner_texts()
    assert messages
    shown = " ".join(messages)
    assert not set(re.findall(r"(?<![\w:./-])[a-z][a-z0-9_]*(?![\w:/-])", shown)) & raw
    assert not REF.search(shown)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_refused_form_names_allowed_values_by_their_labels(signed_in: SignedIn, lang: str) -> None:
    """Issue 16: "một trong: planned, building…" was shown; the reasons now list the labels of the page's language,
    and the header names the department, not its reference."""
    s = signed_in("editor-skhcn")
    s.goto(f"/new?kind=system&lang={lang}")
    who = s.page.inner_text("#who")
    assert ("Sở Khoa học và Công nghệ" if lang == "vi" else "Department of Science and Technology") in who, who
    assert "organization:" not in who and who.split("·")[1].strip() == ROLE_LABELS["editor"].get(lang)  # a label
    s.page.fill("input[name=code]", "h6-thu-nghiem")
    s.page.fill("input[name=name_vi]", "Hệ thống thử nghiệm nhãn")
    # lifecycle left empty (required); criticality sent with a value the form never offers (a tampered request)
    s.page.evaluate(
        """() => { const sel = document.querySelector('select[name=attr_criticality]');
                   sel.add(new Option('?', 'urgent')); sel.value = 'urgent'; }"""
    )
    with s.page.expect_navigation():
        s.page.click("#save")
    shown = s.page.evaluate(VISIBLE)
    spec = {a.name: a for a in DEFAULT.kinds["system"].attributes}
    for name in ("lifecycle", "criticality"):
        labels = ", ".join(spec[name].value_label(v, lang) for v in spec[name].values)
        assert labels in shown, (name, labels, shown[:2000])
    assert DEFAULT.kinds["system"].label.get(lang) in shown  # "required for Information system", not "system"
    assert _problems(s, lang, (set(), set())) == []
    assert s.page.evaluate("document.documentElement.scrollWidth") <= 1280


ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def test_dates_and_times_in_the_readers_locale(signed_in: SignedIn) -> None:
    """No Vietnamese page writes a date the ISO way (form inputs and small references aside), and the change log's
    times are on Việt Nam's clock (the timezone setting's default), not the store's UTC."""
    s = signed_in("architect")
    found: dict[str, list[str]] = {}
    for name, path in PAGES:
        s.goto(path + ("&" if "?" in path else "?") + "lang=vi")
        iso = sorted(set(ISO_DATE.findall(s.page.evaluate(VISIBLE))))
        if iso:
            found[name] = iso
    assert found == {}, found
    s.goto("/changes?lang=vi")
    first = s.page.locator("#changes li.change time").first
    utc = dt.datetime.fromisoformat(first.get_attribute("datetime") or "")
    local = utc.astimezone(dt.timezone(dt.timedelta(hours=7)))
    assert first.inner_text().startswith(local.strftime("%H:%M:%S")), (first.inner_text(), utc)
