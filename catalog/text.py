"""Text: the rules every stored string keeps, normalisation for diacritics-insensitive search, and a collation key
for correct sorting of Vietnamese.

The text rules (one definition for every door: the API's early guard, the catalog's validation of entities,
relationships and events, the web forms, importers, drafts and the CLI): a string the catalog stores carries

- no control characters other than tab, newline and carriage return (``text-control``: NUL, BEL, vertical tab, the
  rest of C0, DEL and C1),
- no lone surrogates (``text-surrogate``: not Unicode; they cannot even be written as UTF-8),
- no bidirectional overrides or isolates (``text-bidi``: U+202A-U+202E, U+2066-U+2069, a spoofing vector in names
  shown to others),
- no noncharacters (``text-noncharacter``: U+FDD0-U+FDEF and U+xFFFE/U+xFFFF of every plane; U+FFFE and U+FFFF
  cannot appear in XML),

and is stored NFC. :func:`text_problem` checks one string (its reason code, or None), :func:`text_problems` every
string and key of a decoded JSON value (FieldErrors whose reason is the rule's :class:`catalog.i18n.Message`,
:func:`text_reason`; code as above, texts in the message catalog).

Text that already breaks these rules (stored before them) is still read and written out: :func:`xml_text` makes a
string fit XML 1.0 and :func:`utf8_text` fit UTF-8 (each character that does not fit becomes U+FFFD), and
:func:`echoable` writes lone surrogates as visible escapes, for responses that repeat what a client sent.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

from catalog.errors import FieldError
from catalog.i18n import Message, msg

# --- the text rules -------------------------------------------------------------------------------------------

TEXT_CONTROL, TEXT_SURROGATE, TEXT_BIDI, TEXT_NONCHARACTER, TEXT_TOO_DEEP = (
    "text-control",
    "text-surrogate",
    "text-bidi",
    "text-noncharacter",
    "text-too-deep",
)

# code -> the message saying why a string was refused (its texts in the message catalog)
TEXT_REASONS: dict[str, Message] = {
    TEXT_CONTROL: msg("text-control"),
    TEXT_SURROGATE: msg("text-surrogate"),
    TEXT_BIDI: msg("text-bidi"),
    TEXT_NONCHARACTER: msg("text-noncharacter"),
    TEXT_TOO_DEEP: msg("text-too-deep"),
}


def text_reason(code: str) -> Message:
    """The message of a text rule's reason code."""
    return TEXT_REASONS[code]


def reason_code(reason: str) -> str:
    """The code of a :class:`Message` reason, or the reason itself."""
    return getattr(reason, "code", reason)


_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_SURROGATES = "\ud800-\udfff"
_BIDI = "\u202a-\u202e\u2066-\u2069"
_NONCHARACTERS = "\ufdd0-\ufdef\ufffe\uffff"  # and U+xFFFE, U+xFFFF of planes 1 to 16 (_noncharacter)
# what may break a rule, as one character class that the re module checks quickly: all of the above, and every
# character from U+1FFFE on (the other planes' noncharacters, and ordinary characters that text_problem then clears)
_MAYBE_BAD = re.compile(f"[{_CONTROL}{_SURROGATES}{_BIDI}{_NONCHARACTERS}]|[\U0001fffe-\U0010ffff]")
_RULES = (
    (re.compile(f"[{_SURROGATES}]"), TEXT_SURROGATE),
    (re.compile(f"[{_CONTROL}]"), TEXT_CONTROL),
    (re.compile(f"[{_BIDI}]"), TEXT_BIDI),
    (re.compile(f"[{_NONCHARACTERS}]"), TEXT_NONCHARACTER),
)
_ASTRAL = re.compile("[\U0001fffe-\U0010ffff]")


def _noncharacter(text: str) -> bool:
    return any(ord(c) & 0xFFFE == 0xFFFE for c in _ASTRAL.findall(text))


MAX_DEPTH = 32


def text_problem(text: str) -> str | None:
    """The reason code of the first rule ``text`` breaks (surrogates first: they break every writer), or None."""
    if _MAYBE_BAD.search(text) is None:
        return None
    found = next((code for rule, code in _RULES if rule.search(text)), None)
    return found or (TEXT_NONCHARACTER if _noncharacter(text) else None)


_ESCAPED_CONTROL = re.compile(rb"\\u00(?:0[0-8bcefBCEF]|1[0-9a-fA-F])")


def clean_json(raw: bytes) -> bool:
    """True when JSON text as orjson writes it (C0 controls escaped, everything else UTF-8) certainly breaks no text
    rule and all its text is NFC: one pass over a whole document, before a walk string by string is needed. False
    may be wrong (a literal backslash before ``u0007``, text that only looks unnormalised across a quote): the walk
    then decides."""
    if _ESCAPED_CONTROL.search(raw):
        return False
    text = raw.decode("utf-8")
    return _MAYBE_BAD.search(text) is None and (text.isascii() or unicodedata.is_normalized("NFC", text))


def text_problems(value: Any, where: str = "", depth: int = 0) -> list[FieldError]:
    """Every string of a decoded JSON value (dict keys included; a key's own problem hides its value's) that breaks
    a text rule, as FieldError(path, reason code); paths are dotted (``attributes.vendor``, ``tags.2``)."""
    if depth > MAX_DEPTH:
        return [FieldError(where or "body", text_reason(TEXT_TOO_DEEP))]
    if isinstance(value, str):
        code = text_problem(value)
        return [FieldError(where or "body", text_reason(code))] if code else []
    out: list[FieldError] = []
    if isinstance(value, dict):
        for k, v in value.items():
            path = f"{where}.{k}" if where else str(k)
            out += text_problems(str(k), path, depth + 1) or text_problems(v, path, depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            out += text_problems(v, f"{where}.{i}" if where else str(i), depth + 1)
    return out


# --- writing out text that breaks the rules -------------------------------------------------------------------

XML_INVALID = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f{_SURROGATES}\ufffe\uffff]")
_UTF8_INVALID = re.compile(f"[{_SURROGATES}]")


def xml_text(text: str) -> str:
    """``text`` as XML 1.0 can hold it: C0 controls other than tab, newline and carriage return, lone surrogates,
    U+FFFE and U+FFFF become U+FFFD (the same text when nothing needs it)."""
    return XML_INVALID.sub("\ufffd", text) if XML_INVALID.search(text) else text


def utf8_text(text: str) -> str:
    """``text`` as UTF-8 can hold it: lone surrogates become U+FFFD."""
    return _UTF8_INVALID.sub("\ufffd", text) if _UTF8_INVALID.search(text) else text


def echoable(text: str) -> str:
    """``text`` to repeat to whoever sent it: each lone surrogate written as its escape (``\\ud800``), so the answer
    encodes as UTF-8 and still names what was sent."""
    if _UTF8_INVALID.search(text) is None:
        return text
    return _UTF8_INVALID.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# --- normalisation and search ---------------------------------------------------------------------------------

_COMBINING = re.compile(r"[\u0300-\u036f]")
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def nfc(text: str) -> str:
    """Canonical composed form: the two Unicode spellings of 'Sở' compare equal after this."""
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lower-case, strip diacritics (including đ -> d), collapse separators: 'Sở Thông tin' -> 'so thong tin'.

    Word by word through a cache: every step works within a word (white space is a separator both before and after
    folding), and a catalog's names and descriptions reuse a few thousand syllables, so a bulk load folds each once."""
    return " ".join([f for f in map(_fold_word, text.split()) if f])


@functools.lru_cache(maxsize=65536)
def _fold_word(word: str) -> str:
    word = unicodedata.normalize("NFD", word.lower())
    word = _COMBINING.sub("", word).replace("đ", "d").replace("ð", "d")
    return " ".join(_NON_WORD.sub(" ", word).split())


def search_text(content: dict) -> tuple[str, str]:
    """Folded (name, body) search text of an entity's content (``Entity.content()``): what every store backend
    indexes, so that search finds the same things on each. Name: both names and the code; body: descriptions, tags
    and the text attributes."""
    c = content
    name = fold(f"{c['name']['vi']} {c['name']['en']} {c['code'].replace('-', ' ')} {c['code']}")
    body = fold(
        " ".join(
            [
                c["description"]["vi"],
                c["description"]["en"],
                *c["tags"],
                *(v for v in c["attributes"].values() if isinstance(v, str)),
            ]
        )
    )
    return name, body


def search_tokens(text: str) -> list[str]:
    return fold(text).split()


# Vietnamese alphabet order: a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y; tones are a secondary key
# in the order: none, huyền (grave), hỏi (hook), ngã (tilde), sắc (acute), nặng (dot below).
_BASE_ORDER = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_BASE_RANK = {ch: i for i, ch in enumerate(_BASE_ORDER)}
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
_LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}  # breve (ă), circumflex (â ê ô), horn (ơ ư)


def vi_sort_key(text: str) -> tuple:
    """Collation key for Vietnamese: base letters in alphabet order, then tones, then case."""
    keys = [_char_key(ch) for ch in unicodedata.normalize("NFC", text)]
    return (tuple(k[0] for k in keys), tuple(k[1] for k in keys), text)


@functools.lru_cache(maxsize=4096)
def _char_key(ch: str) -> tuple[int, int]:
    """One character's (primary weight, tone): a few hundred distinct characters make every name, so each is worked
    out once (sorting a national list of names spent most of its time here)."""
    low = ch.lower()
    decomposed = unicodedata.normalize("NFD", low)
    base = decomposed[0]
    marks = decomposed[1:]
    letter = unicodedata.normalize("NFC", base + "".join(m for m in marks if m in _LETTER_MARKS))
    tone = next((_TONES[m] for m in marks if m in _TONES), 0)
    if letter in _BASE_RANK:
        return 100 + _BASE_RANK[letter], tone
    if letter.isdigit():
        return (10 + int(letter) if letter.isascii() else 50), tone
    if letter.isspace():
        return 1, tone
    return 1000 + ord(letter), tone
