"""The business layer on the command line: `list --kind procedure` with what serves each, `coverage`, the business
view; real processes on the sample catalog."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("IOC_CATALOG_STORE", None)
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    where = tmp_path_factory.mktemp("business-cli")
    url = f"sqlite:///{where / 'c.db'}"
    r = cli("init", "--sample", "--store", url, cwd=where)
    assert r.returncode == 0, r.stderr
    return url, where


def rows(text: str) -> dict[str, dict[str, str]]:
    return {row[next(iter(row))]: row for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}


def test_list_procedures_names_the_systems_serving_each(catalog: tuple[str, Path]) -> None:
    url, where = catalog
    r = cli("list", "--kind", "procedure", "--format", "csv", "--store", url, cwd=where)
    assert r.returncode == 0, r.stderr
    got = rows(r.stdout)
    birth = got["procedure:hcm-tthc-khai-sinh"]
    assert birth["Mức độ trực tuyến"] == "Trực tuyến toàn trình"
    assert set(birth["Hệ thống phục vụ"].split("; ")) == {
        "Hệ thống thông tin giải quyết thủ tục hành chính TP.HCM",
        "Hệ thống đăng ký, quản lý hộ tịch điện tử",
    }
    copy = got["procedure:hcm-tthc-chung-thuc-ban-sao"]
    assert copy["Mức độ trực tuyến"] == "Chưa trực tuyến" and copy["Hệ thống phục vụ"] == ""
    assert len(got) == 6
    # the table a person reads: the same, in English, with labels rather than codes
    r = cli("list", "--kind", "procedure", "--lang", "en", "--store", url, cwd=where)
    assert r.returncode == 0 and "Served by" in r.stdout and "Fully online" in r.stdout
    assert "full_online" not in r.stdout and "Building permit system" in r.stdout
    # JSON carries the serving systems by reference
    r = cli("list", "--kind", "procedure", "--format", "json", "--store", url, cwd=where)
    items = {x["ref"]: x for x in json.loads(r.stdout)["items"]}
    assert [s["ref"] for s in items["procedure:hcm-tthc-thanh-lap-doanh-nghiep"]["served_by"]] == [
        "system:hcm-dang-ky-kinh-doanh"
    ]
    # a kind that nothing serves keeps the plain listing
    r = cli("list", "--kind", "database", "--format", "csv", "--store", url, cwd=where)
    assert r.returncode == 0 and "Hệ thống phục vụ" not in r.stdout.splitlines()[0]


def test_coverage_of_one_department(catalog: tuple[str, Path]) -> None:
    url, where = catalog
    r = cli("coverage", "--org", "organization:hcm-stp", "--format", "json", "--store", url, cwd=where)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["summary"] == {
        "procedures": 3,
        "online": 2,
        "full_online": 1,
        "partial_online": 1,
        "online_without_system": 0,
        "not_online": 1,
        "functions": 2,
        "functions_uncovered": 1,
    }
    states = {x["ref"]: x["state"] for x in data["procedures"] + data["functions"]}
    assert states["function:hcm-cn-chung-thuc"] == "uncovered" and states["function:hcm-cn-ho-tich"] == "covered"
    r = cli("coverage", "--org", "organization:hcm-stp", "--store", url, cwd=where)
    assert r.returncode == 0 and "Chưa có hệ thống phục vụ" in r.stdout and "Thủ tục hành chính: 3" in r.stdout
    # before the business layer was recorded as valid: nothing, said as a count, not an error
    r = cli("coverage", "--valid-on", "2020-01-01", "--format", "json", "--store", url, cwd=where)
    assert r.returncode == 0 and json.loads(r.stdout)["summary"]["procedures"] == 0


def test_coverage_of_something_not_an_organisation_is_a_message(catalog: tuple[str, Path]) -> None:
    url, where = catalog
    r = cli("coverage", "--org", "system:hcm-ho-tich", "--store", url, cwd=where)
    assert r.returncode != 0 and "Traceback" not in r.stderr + r.stdout
    said = r.stdout + r.stderr
    assert "Hệ thống thông tin" in said and "không phải cơ quan, tổ chức" in said


def test_business_view_renders_svg_with_vietnamese_labels(catalog: tuple[str, Path]) -> None:
    url, where = catalog
    out = where / "business.svg"
    r = cli("diagram", "business", "-o", str(out), "--store", url, cwd=where)
    assert r.returncode == 0, r.stderr
    svg = out.read_text(encoding="utf-8")
    for said in ("Đăng ký khai sinh", "Trực tuyến toàn trình", "Hệ thống phục vụ", "Chưa có hệ thống phục vụ"):
        assert said in svg, said
    assert "full_online" not in svg and "procedure:hcm" in svg  # links to the entity pages, labels as text
