"""The message catalog: every sentence a person reads, by stable code, in Vietnamese and English.

Code never writes a sentence for people and never builds one language from the other. It names a message by its
code and parameters::

    raise NotFound(msg("entity-not-found", ref=ref))
    FieldError("owner", msg("ref-dissolved", ref=ref, day=org.valid_to))
    text(m, "vi")                      # what a Vietnamese reader sees
    text(msg_plural("import-rows-rejected", "import-rows-rejected#plural", count=3), "en")

A :class:`Message` is a ``str`` whose value is the English text (so logs, ``str(exc)`` and code that has not learnt
the reader's language still read well), and which carries its ``code`` and ``params``; a door that knows the reader's
language renders it with :func:`text`. A message with plural forms is made with :func:`msg_plural` (so that
``pybabel extract`` sees its plural id) and a ``count`` parameter; the catalogs hold its forms (Vietnamese has one,
English two).

The texts live in gettext catalogs, one per language: ``catalog/locale/<lang>/LC_MESSAGES/ioc_catalog.po``, where
``msgid`` is the code (and ``msgid_plural`` the code followed by ``#plural``) and ``msgstr`` the text with
``{name}`` placeholders (python-brace-format). The ``.po`` files are under version control and maintained with Babel;
the compiled ``.mo`` files are committed beside them, as Django does, so an installed package needs no build step.
``python -m catalog.i18n`` extracts the codes from the sources (``pybabel extract`` with the keywords below), merges
them into both catalogs (``pybabel update``) and compiles them (``pybabel compile``); tests/catalog/test_messages.py
fails when a code lacks a text in either language, or a ``.mo`` is older than its ``.po``.

Dates and numbers are formatted per locale by Babel (:func:`format_date`, :func:`format_number`).
Labels of kinds, attributes, enumerated values and relationship types are not messages: they live in the metamodel
(:mod:`catalog.metamodel`), the one place that declares the vocabulary.
"""

from __future__ import annotations

import datetime as dt
import gettext
import subprocess
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.lists import format_list as _babel_list
from babel.numbers import format_decimal as _babel_decimal

LANGS = ("vi", "en")
DOMAIN = "ioc_catalog"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
PLURAL = "#plural"
# the call names pybabel extract looks for: msg("code", ...), the plural form, and the templates' gettext calls
# how a date reads inside a message
DATE_PATTERNS = {"vi": "dd/MM/yyyy", "en": "yyyy-MM-dd"}
# templates: {{ _("code") }}; the command line: say("code"), say_plural("code", "code#plural", count=n)
KEYWORDS = ("msg", "msg_plural:1,2", "_", "gettext", "ngettext:1,2", "say", "say_plural:1,2")


class Message(str):
    """A message of the catalog: its English text as a string, with its ``code`` and ``params``."""

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, params: dict[str, Any]) -> Message:
        self = super().__new__(cls, _render(code, "en", params))
        self.code = code
        self.params = params
        return self

    def text(self, lang: str) -> str:
        return _render(self.code, lang, self.params)

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (worker processes) keep the code, not only the English
        return (Message, (self.code, self.params))


def msg(code: str, /, **params: Any) -> Message:
    """The message ``code`` with its parameters (a ``count`` parameter chooses the plural form)."""
    return Message(code, params)


def msg_plural(code: str, plural: str, /, count: int, **params: Any) -> Message:
    """A message with plural forms chosen by ``count``; ``plural`` is always ``code + '#plural'`` (pybabel extract
    reads it from the call)."""
    if plural != code + PLURAL:
        raise ValueError(f"the plural id of {code} is {code + PLURAL}")
    return Message(code, {**params, "count": count})


class Alternatives(tuple):
    """Values of which one is meant, shown per language ("system, platform, or service"; "system, platform hoặc
    service"): a parameter made with :func:`one_of`."""


def one_of(values: Iterable[Any]) -> Alternatives:
    """A parameter naming alternatives, joined with the language's "or"."""
    return Alternatives(values)


class Term(tuple):
    """An enumerated value in a sentence (a lifecycle, a kind, a relationship type): its label in the reader's
    language, its code where it has none. A parameter made with :func:`term`; a list of them reads "a, b", and
    :func:`allowed_codes` gives machine-readable doors (the API's problem details) the codes."""


def term(code: str, label: Any = None) -> Term:
    """A parameter naming the value ``code`` by ``label`` (a Label or LocalText: anything with ``get(lang)``; or a
    :class:`Message`)."""
    return Term((code, label))


def allowed_codes(reason: Any) -> list[str] | None:
    """The codes of the values a message lists as allowed (its ``allowed`` parameter, made of :func:`term`
    values), else None."""
    allowed = reason.params.get("allowed") if isinstance(reason, Message) else None
    if isinstance(allowed, (list, tuple)) and allowed and all(isinstance(v, Term) for v in allowed):
        return [v[0] for v in allowed]
    return None


class Named(tuple):
    """An entity in a sentence: its name in the reader's language, then its reference ("Sở Tài chính
    (organization:hcm-stc)"); the reference alone when the name is not known. A parameter made with :func:`named`."""


def named(ref: str | None, name: Any = None, with_ref: bool = True) -> Named | str:
    """A parameter naming an entity by ``name`` (a LocalText or Label: anything with ``get(lang)``) and, unless
    ``with_ref`` is False (the reader's own organisation), its reference."""
    return Named((ref, name, with_ref)) if ref and name is not None else ref or ""


def text(value: Any, lang: str) -> str:
    """What a reader of ``lang`` sees for ``value``: a :class:`Message` in that language; any other value (a name
    typed by a person, a number) as it is."""
    if isinstance(value, Message):
        return value.text(lang)
    return "" if value is None else str(value)


def code_of(value: Any) -> str | None:
    """The code of a :class:`Message`, else None."""
    return value.code if isinstance(value, Message) else None


def has(code: str, lang: str) -> bool:
    """Whether the catalog of ``lang`` has a text for ``code``."""
    return code in _catalog(lang)._catalog or (code, 0) in _catalog(lang)._catalog  # type: ignore[attr-defined]


def label_of(code: str) -> tuple[str, str] | None:
    """The unformatted (vi, en) texts of a code named in data rather than in the sources (the built-in compliance
    rules' messages: their placeholders are filled later, per finding); None unless both languages have one."""
    if not (has(code, "vi") and has(code, "en")):
        return None
    return _catalog("vi").gettext(code), _catalog("en").gettext(code)


def codes(lang: str = "en") -> set[str]:
    """Every code the catalog of ``lang`` holds."""
    out = set()
    for key in _catalog(lang)._catalog:  # type: ignore[attr-defined]
        k = key[0] if isinstance(key, tuple) else key
        if k:
            out.add(k)
    return out


def lang_or_default(lang: str | None, default: str = "vi") -> str:
    return lang if lang in LANGS else default


# --- dates and numbers -----------------------------------------------------------------------------------------------


def format_date(day: dt.date | str | None, lang: str, format: str = "medium") -> str:
    """A date as readers of ``lang`` write it (vi: ``1 thg 3, 2025`` medium, ``01/03/2025`` short)."""
    if day is None or day == "":
        return ""
    if isinstance(day, str):
        try:
            day = dt.date.fromisoformat(day[:10])
        except ValueError:
            return str(day)
    return _babel_date(day, format=format, locale=_locale(lang))


DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
# Việt Nam keeps UTC+7 all year: the zone still works on a machine without a time-zone database (Windows, no tzdata)
_FIXED = {DEFAULT_TIMEZONE: dt.timezone(dt.timedelta(hours=7), "ICT"), "UTC": dt.UTC}


def zone(name: str) -> dt.tzinfo:
    """The time zone named ``name`` (IANA, e.g. ``Asia/Ho_Chi_Minh``); ValueError when it is not known."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name in _FIXED:
            return _FIXED[name]
        raise ValueError(f"unknown time zone {name!r}") from None


def format_datetime(when: dt.datetime | str | None, lang: str, format: str = "short", tz: str | None = None) -> str:
    """An instant as readers of ``lang`` write it; with ``tz``, on that zone's clock (an instant without a zone
    is UTC, as the store records them)."""
    if when is None or when == "":
        return ""
    if isinstance(when, str):
        try:
            when = dt.datetime.fromisoformat(when)
        except ValueError:
            return str(when)
    if not isinstance(when, dt.datetime):  # a day (a record instant given as a day): the day
        return format_date(when, lang)
    if tz is not None:
        when = (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).astimezone(zone(tz))
    return _babel_datetime(when, format=format, tzinfo=when.tzinfo, locale=_locale(lang))


def format_number(n: int | float, lang: str) -> str:
    """``1234567`` -> vi ``1.234.567``, en ``1,234,567``."""
    return _babel_decimal(n, locale=_locale(lang))


# --- the catalogs ----------------------------------------------------------------------------------------------------


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang_or_default(lang))


@cache
def _catalog(lang: str) -> gettext.NullTranslations:
    try:
        return gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang_or_default(lang)])
    except OSError:  # no compiled catalog: codes show as themselves (the completeness test fails long before this)
        return gettext.NullTranslations()


def reload() -> None:
    """Forget the loaded catalogs (after ``python -m catalog.i18n`` compiled new ones)."""
    _catalog.cache_clear()


def _render(code: str, lang: str, params: dict[str, Any]) -> str:
    cat = _catalog(lang_or_default(lang))
    count = params.get("count")
    plural = (code, 0) in getattr(cat, "_catalog", {})
    if plural and isinstance(count, int) and not isinstance(count, bool):
        template = cat.ngettext(code, code + PLURAL, count)
    elif plural:
        template = cat.ngettext(code, code + PLURAL, 1)
    else:
        template = cat.gettext(code)
    if not params:
        return template
    shown = {k: _shown(v, lang) for k, v in params.items()}
    try:
        return template.format(**shown)
    except (KeyError, IndexError, ValueError):  # a text naming a parameter the code did not pass: show it unfilled
        return template


def _shown(value: Any, lang: str) -> Any:
    if isinstance(value, Message):
        return value.text(lang)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) >= 1_000:
        return format_number(value, lang)
    if isinstance(value, dt.datetime):
        return format_datetime(value, lang)
    if isinstance(value, dt.date):  # in a sentence: 01/04/2019 in Vietnamese, 2019-04-01 (ISO) in English
        return format_date(value, lang, DATE_PATTERNS.get(lang_or_default(lang), "yyyy-MM-dd"))
    if isinstance(value, Term):
        code, label = value
        if isinstance(label, Message):
            return label.text(lang) or code
        return (label.get(lang) if hasattr(label, "get") else None) or code
    if isinstance(value, Named):
        ref, name, with_ref = value
        shown = name.get(lang) if hasattr(name, "get") else str(name)
        if not shown or shown == ref:
            return ref
        return f"{shown} ({ref})" if with_ref else shown
    if isinstance(value, Alternatives):
        return _babel_list([str(_shown(v, lang)) for v in value], style="or", locale=_locale(lang))
    if isinstance(value, (list, tuple)):  # a list reads "a, b"; a tuple (of reasons, each a clause) "a; b"
        return ("; " if isinstance(value, tuple) else ", ").join(str(_shown(v, lang)) for v in value)
    return value


# --- maintenance: python -m catalog.i18n [extract|update|compile|all] ------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("catalog", "importers", "diagrams", "api")


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", *args], check=True, cwd=ROOT)


def extract(pot: Path) -> Path:
    """Write every code used in the sources and templates to ``pot`` (a gettext template; not kept in git):
    ``pybabel extract``, plus the calls it does not see (a ``msg(...)`` nested in another call's arguments),
    found by :func:`source_codes`."""
    from babel.messages.catalog import Message as PoMessage
    from babel.messages.pofile import read_po, write_po

    keywords: Iterable[str] = [a for k in KEYWORDS for a in ("-k", k)]
    _pybabel(
        "extract",
        "--no-default-keywords",
        *keywords,
        "-F",
        str(ROOT / "babel.cfg"),
        "--sort-by-file",
        "--no-wrap",
        "--no-location",
        "-o",
        str(pot),
        *SOURCES,
    )
    with pot.open("rb") as fh:
        template = read_po(fh)
    known = {m.id[0] if isinstance(m.id, tuple) else m.id for m in template if m.id}
    for code, plural in sorted(source_codes().items()):
        if code not in known:
            template[code] = PoMessage((code, code + PLURAL) if plural else code)
    with pot.open("wb") as fh:
        write_po(fh, template, width=0, omit_header=False)
    return pot


def source_codes(roots: Iterable[str] = SOURCES) -> dict[str, bool]:
    """Every code a ``msg("code", ...)`` or ``msg_plural("code", ...)`` call in the Python sources names, nested
    calls included (code -> whether it has plural forms)."""
    import ast

    found: dict[str, bool] = {}
    for root in roots:
        for path in sorted((ROOT / root).rglob("*.py")):
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError):
                continue
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                    if name in ("msg", "msg_plural", "say", "say_plural"):
                        plural = name in ("msg_plural", "say_plural")
                        found[node.args[0].value] = found.get(node.args[0].value, False) or plural
    for code in rule_codes():
        found.setdefault(code, False)
    return found


def rule_codes(path: Path | None = None) -> list[str]:
    """The codes the built-in compliance rules (catalog/rules.yaml) name for their message and description: their
    texts live in the catalog like every other sentence (a site's own rules file may give {vi, en} inline)."""
    import yaml

    data = yaml.safe_load((path or ROOT / "catalog" / "rules.yaml").read_text(encoding="utf-8")) or {}
    return [
        value
        for rule in data.get("rules") or []
        for value in (rule.get("message"), rule.get("description"))
        if isinstance(value, str)
    ]


def update(pot: Path) -> None:
    """Merge the template into each language's catalog: new codes appear untranslated (the completeness test
    then names them), codes no longer used are dropped."""
    for lang in LANGS:
        po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        if po.exists():
            _pybabel(
                "update",
                "-i",
                str(pot),
                "-d",
                str(LOCALE_DIR),
                "-D",
                DOMAIN,
                "-l",
                lang,
                "--no-wrap",
                "--ignore-obsolete",
                "--no-fuzzy-matching",
            )
        else:
            _pybabel("init", "-i", str(pot), "-d", str(LOCALE_DIR), "-D", DOMAIN, "-l", lang, "--no-wrap")


def compile_catalogs() -> None:
    _pybabel("compile", "-d", str(LOCALE_DIR), "-D", DOMAIN)
    reload()


def main(argv: list[str] | None = None) -> None:
    """``python -m catalog.i18n`` extracts, updates both catalogs and compiles them; ``compile`` only compiles."""
    import tempfile

    step = (argv or sys.argv[1:] or ["all"])[0]
    if step == "all":
        with tempfile.TemporaryDirectory() as tmp:
            update(extract(Path(tmp) / f"{DOMAIN}.pot"))
    compile_catalogs()


if __name__ == "__main__":
    main()


__all__ = [
    "LANGS",
    "Alternatives",
    "Message",
    "Term",
    "allowed_codes",
    "code_of",
    "codes",
    "format_date",
    "format_datetime",
    "format_number",
    "has",
    "msg",
    "msg_plural",
    "one_of",
    "term",
    "text",
]
