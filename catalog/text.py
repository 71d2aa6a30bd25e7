"""Vietnamese text: normalisation for diacritics-insensitive search and a collation key for correct sorting."""

from __future__ import annotations

import functools
import re
import unicodedata

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
    body = fold(" ".join([c["description"]["vi"], c["description"]["en"], *c["tags"],
                          *(v for v in c["attributes"].values() if isinstance(v, str))]))
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
    primary: list[int] = []
    tones: list[int] = []
    for ch in unicodedata.normalize("NFC", text):
        low = ch.lower()
        decomposed = unicodedata.normalize("NFD", low)
        base = decomposed[0]
        marks = decomposed[1:]
        letter = base + "".join(m for m in marks if m in _LETTER_MARKS)
        letter = unicodedata.normalize("NFC", letter)
        tone = next((_TONES[m] for m in marks if m in _TONES), 0)
        if letter in _BASE_RANK:
            primary.append(100 + _BASE_RANK[letter])
        elif letter.isdigit():
            primary.append(10 + int(letter) if letter.isascii() else 50)
        elif letter.isspace():
            primary.append(1)
        else:
            primary.append(1000 + ord(letter))
        tones.append(tone)
    return (tuple(primary), tuple(tones), text)
