"""A zip of Backstage catalog files uploaded on the import page, as an architect sees the dry run: the counts by kind
(the Domains as preserved elements), the Location target that is a URL reported in Vietnamese, nothing wider than a
phone. Only the dry run: the shared server's catalog is left as it is."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

from web.uitest import Session

SignedIn = Callable[[str | None], Session]
CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"  # as tests/conftest.py finds them
EXAMPLES = CORPORA / "backstage" / "backstage-backstage@b5ef4cc" / "packages" / "catalog-model" / "examples"
URL = "https://example.com/catalog-info.yaml"
ROOT = f"""\
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: example-all
spec:
  targets: [./acme-corp.yaml, ./all-apis.yaml, ./all-components.yaml, ./all-domains.yaml, ./all-resources.yaml,
            ./all-systems.yaml, "{URL}"]
"""


def archive(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(EXAMPLES.rglob("*.yaml")):
            z.write(p, f"examples/{p.relative_to(EXAMPLES).as_posix()}")
        z.writestr("examples/catalog-info.yaml", ROOT)
    return path


def test_a_backstage_zip_dry_run_on_a_phone(signed_in: SignedIn, tmp_path: Path) -> None:
    s = signed_in("architect")
    s.page.set_viewport_size({"width": 390, "height": 844})
    s.goto("/import")
    s.page.set_input_files("#file", str(archive(tmp_path / "backstage.zip")))
    s.page.select_option("#format", "backstage")
    s.page.click("#dry-run")
    s.page.wait_for_selector("#import-report")
    report = s.page.inner_text("#import-report")
    assert "BACKSTAGE" in report
    assert "Hệ thống thông tin: 16" in report and "Phần tử giữ nguyên từ nguồn: 2" in report, report
    assert "preserved" not in report and "organization" not in report  # kinds by their labels
    warnings = s.page.locator("main ul").last.inner_text()
    assert f"không đọc theo: {URL} (không bao giờ tải địa chỉ từ xa)" in warnings
    assert "examples/catalog-info.yaml: tài liệu 1" in warnings  # where: the file inside the archive
    assert "a remote URL" not in warnings  # one language
    assert s.page.locator("#confirm-import").count() == 1
    width = s.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, width
    s.shot("backstage-zip-390-top", full=False)
    s.shot("backstage-zip-390")
