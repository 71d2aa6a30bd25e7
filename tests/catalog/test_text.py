"""Folding for diacritics-insensitive search: the word-by-word cached fold must equal folding the whole text."""

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.text import fold

_COMBINING = re.compile(r"[\u0300-\u036f]")
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def whole_text_fold(text: str) -> str:
    """fold() as it was written before the word cache: the definition the stored search text was built with."""
    text = unicodedata.normalize("NFD", text.lower())
    text = _COMBINING.sub("", text).replace("đ", "d").replace("ð", "d")
    return " ".join(_NON_WORD.sub(" ", text).split())


VIETNAMESE = "aăâđeêioôơuưyAĂÂĐÊÔƠỰ́̀̉̃áàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
SEPARATORS = " -_.,;:/\\\t\n\x1c\u00a0\u2028\u3000"
OTHERS = "ΣσςİIıǅ1²٣𝟘ﬁßẞ"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=VIETNAMESE + SEPARATORS + OTHERS, max_size=40) | st.text(max_size=40))
def test_fold_word_by_word_equals_fold_of_the_whole_text(text: str) -> None:
    assert fold(text) == whole_text_fold(text)


def test_fold_examples() -> None:
    assert fold("Sở Thông tin và Truyền thông") == "so thong tin va truyen thong"
    assert fold("  ĐẮK LẮK\u00a0– Hue-S ") == "dak lak hue s"
    assert fold("\u0301 \u0303") == ""
    assert fold("So\u031b\u0309") == fold("Sở") == "so"  # NFD input
