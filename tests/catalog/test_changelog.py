"""Canonical JSON is the text every hash is computed over: its bytes must not depend on the encoder behind it."""

import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.changelog import canonical_json, entry_hash

REFERENCE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=2000, deadline=None)
@given(values)
def test_canonical_json_is_the_standard_library_text_byte_for_byte(value):
    assert canonical_json(value) == REFERENCE.encode(value)


def test_the_cases_orjson_writes_differently_or_refuses_fall_back_to_the_reference():
    cases = [
        {"small": 1e-07, "tiny": 5e-324, "big": 1e22, "decimal": 1.5e-05, "neg": -3e-6},  # 1e-7, 0.000015
        {"int": 2**70},  # beyond 64 bits
        {1: "non-string key"},
        {"control": "\x00\x1f\x7f\u2028\u2029\ufeff", "vi": "Sở Thông tin và Truyền thông", "nfd": "Sở"},
        {"Z": 1, "a": 2, "é": 3, "ệ": 4, "": 5},  # code-point key order
        {"when": dt.datetime(2025, 7, 1, tzinfo=dt.UTC), "day": dt.date(2025, 7, 1)},  # str(), as default=str
    ]
    for value in cases:
        assert canonical_json(value) == REFERENCE.encode(value)
    assert canonical_json({"x": 1e-07}) == '{"x":1e-07}'


def test_the_hash_of_an_entry_is_the_same_from_a_dict_and_from_its_canonical_text():
    after = {"name": {"vi": "Cổng dịch vụ công", "en": "Public service portal"}, "n": 3, "f": 0.5}
    args = (7, "2025-06-30T00:00:00.000000Z", "alice", "req-1", "create", "system:portal", None)
    assert entry_hash(*args, after, "0" * 64) == entry_hash(*args, canonical_json(after), "0" * 64)


def test_consecutive_change_log_times_are_the_formatted_instants_across_second_and_year_boundaries() -> None:
    import datetime as dt

    from catalog.store.base import consecutive_times, format_log_time

    for base, n in (
        (dt.datetime(2025, 12, 31, 23, 59, 59, 999_990), 25),
        (dt.datetime(2025, 6, 30), 1_000_001),
        (dt.datetime(2025, 6, 30, 1, 2, 3, 4), 1),
        (dt.datetime(2025, 6, 30), 0),
    ):
        assert list(consecutive_times(base, n)) == [
            format_log_time(base + dt.timedelta(microseconds=i)) for i in range(n)
        ]
