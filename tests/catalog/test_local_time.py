"""Times on the reader's clock: the ``timezone`` setting (Asia/Ho_Chi_Minh by default) and catalog.i18n."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from catalog.i18n import format_datetime, zone
from catalog.settings import Settings

INSTANT = dt.datetime(2026, 12, 6, 21, 57, 8, tzinfo=dt.UTC)


def test_an_instant_reads_on_the_zone_clock() -> None:
    assert format_datetime(INSTANT, "vi", "medium", "Asia/Ho_Chi_Minh") == "04:57:08 7 thg 12, 2026"  # UTC+7
    assert format_datetime(INSTANT.isoformat(), "en", "medium", "Asia/Ho_Chi_Minh") == "Dec 7, 2026, 4:57:08\u202fAM"
    assert format_datetime("2026-12-06T21:57:08", "vi", "medium", "Asia/Ho_Chi_Minh").startswith("04:57:08")  # UTC
    assert format_datetime(INSTANT, "vi", "medium", "UTC").startswith("21:57:08")
    assert format_datetime(dt.date(2025, 3, 1), "vi", "medium", "UTC") == "1 thg 3, 2025"  # a day stays a day


def test_the_setting_defaults_to_viet_nam_and_refuses_unknown_zones() -> None:
    assert Settings().timezone == "Asia/Ho_Chi_Minh"
    assert Settings(timezone="Europe/Paris").timezone == "Europe/Paris"
    with pytest.raises(ValidationError, match="Mars/Olympus"):
        Settings(timezone="Mars/Olympus")


def test_viet_nam_needs_no_time_zone_database(monkeypatch: pytest.MonkeyPatch) -> None:
    import catalog.i18n as i18n

    def missing(name: str) -> None:
        raise i18n.ZoneInfoNotFoundError(name)

    monkeypatch.setattr(i18n, "ZoneInfo", missing)
    assert zone("Asia/Ho_Chi_Minh").utcoffset(None) == dt.timedelta(hours=7)
    with pytest.raises(ValueError, match="Europe/Paris"):
        zone("Europe/Paris")
