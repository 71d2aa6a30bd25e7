"""One registry type for importers, exporters, views, checks and rules (catalog.registry), and extensions through
entry points: the worked example package (tests/extension_example) is installed for these tests as pip would leave
it, a ``*.dist-info`` folder with its ``entry_points.txt`` (written from the example's own pyproject.toml) on
``sys.path``, and its importer, exporter, view, check and rule must then work and show in ``--help``, the generated
docs and the API. A taken name is refused, naming both origins."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from catalog.compliance import CHECKS, RULES, Rule, check, load_rules
from catalog.i18n import text
from catalog.metamodel import Label
from catalog.registry import NameTaken, Registry, RegistryError, UnknownName
from catalog.settings import Settings, get_settings
from catalog.store import open_store
from catalog.store.base import CatalogStore
from diagrams.registry import VIEWS
from importers.base import IMPORTERS, register, run_import
from importers.exports import EXPORTERS, export

EXAMPLE = ROOT / "tests" / "extension_example"
REGISTRIES = (IMPORTERS, EXPORTERS, VIEWS, CHECKS, RULES)
EXTENSION_ITEMS = {
    IMPORTERS: "example-lines",
    EXPORTERS: "example-refs",
    VIEWS: "example-owners",
    CHECKS: "example_no_description",
    RULES: "EX001",
}


def _reset() -> None:
    for registry in REGISTRIES:
        registry.reset()


def install_dist_info(where: Path, name: str, version: str, entry_points: dict[str, dict[str, str]]) -> None:
    """What ``pip install`` leaves for importlib.metadata to find: ``<name>-<version>.dist-info`` with METADATA and
    entry_points.txt."""
    info = where / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) + "\n"
            for group, eps in entry_points.items()
        ),
        encoding="utf-8",
    )


@pytest.fixture
def extension(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example extension installed (its entry points visible, its package importable) for one test; removed
    afterwards, and every registry loaded again without it."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    site = tmp_path_factory.mktemp("site")
    install_dist_info(site, project["name"], project["version"], project["entry-points"])
    sys.path[:0] = [str(site), str(EXAMPLE)]
    _reset()
    try:
        yield project["name"]
    finally:
        sys.path.remove(str(site))
        sys.path.remove(str(EXAMPLE))
        sys.modules.pop("ioc_catalog_example", None)
        _reset()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CatalogStore]:
    s = open_store(f"sqlite:///{tmp_path / 'c.db'}", create=True)
    try:
        yield s
    finally:
        s.close()


def _flat(text: str) -> str:
    """Help as one string without spaces or box lines (rich wraps long lists of names anywhere)."""
    return "".join(ch for ch in text if not ch.isspace() and ch not in "│╭╮╰╯─")


# ---------------------------------------------------------------------------------------------------------------
# The worked example, installed


def test_the_extension_registers_one_item_of_each_kind_after_the_builtins(extension: str) -> None:
    for registry, name in EXTENSION_ITEMS.items():
        names = registry.names()
        assert name in names
        assert registry.origin(name).startswith(f"extension {extension} 0.1.0 (entry point {registry.group}: ")
        assert not registry.is_builtin(name)
        assert all(registry.is_builtin(n) for n in names[: names.index(name)])  # built-ins first
    assert [r.code for r in load_rules()][-1] == "EX001"


def test_the_extension_items_work(extension: str, store: CatalogStore, tmp_path: Path) -> None:
    file = tmp_path / "units.ioclines"
    file.write_text("organization:ex-org | Sở Ví dụ\nsystem:ex-sys | Hệ thống ví dụ\nnot a ref | x\n", encoding="utf-8")
    report = run_import(store, file, strict=False)  # picked by its suffix, among the built-ins
    assert report.format == "example-lines"
    assert sorted(e.ref for e in store.iter_entities()) == ["organization:ex-org", "system:ex-sys"]
    assert [r.location for r in report.rejected] == ["units.ioclines: line 3"]
    assert export(store, "example-refs").data == b"organization:ex-org\nsystem:ex-sys\n"
    from diagrams import ViewParams, build

    diagram = build(store, "example-owners", ViewParams(lang="en"))
    assert (diagram.title, set(diagram.nodes)) == ("Organisations and their systems (example)", {"system:ex-sys"})
    findings = [(f.rule, f.ref, f.message_en) for f in check(store).findings if f.rule == "EX001"]
    assert findings == [("EX001", "system:ex-sys", "“Hệ thống ví dụ” has no description")]


def test_the_extension_shows_in_the_cli_help(extension: str) -> None:
    from api import cli

    cli._register_command_groups()
    runner = CliRunner()
    shown = {}
    for command in ("import", "export", "diagram", "check"):
        result = runner.invoke(cli.app, [command, "--help"], env={"COLUMNS": "100"})
        assert result.exit_code == 0, result.output
        shown[command] = _flat(result.output)
    assert "native,backstage,xlsx" in shown["import"] and "archi-csv,example-lines" in shown["import"]
    assert "json,xlsx,csv,archimate,example-refs" in shown["export"]
    assert "example-owners" in shown["diagram"] and "department" in shown["diagram"]
    assert "CR012,EX001" in shown["check"]


def test_the_extension_shows_in_the_generated_docs(extension: str) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)  # type: ignore[union-attr]
    cli_page, rules_page, registries_page = gen.cli_reference(), gen.rules_reference(), gen.registries_reference()
    assert "archi-csv, example-lines" in cli_page and "example-owners" in cli_page
    assert "| EX001 | info | Example extension: a system without a description" in rules_page
    assert "(from extension ioc-catalog-example 0.1.0)" in rules_page
    for name in EXTENSION_ITEMS.values():
        assert f"| `{name}` |" in registries_page
    assert "| `example-lines` | Example extension: one entity a line" in registries_page


def test_the_extension_shows_in_the_api(extension: str, store: CatalogStore) -> None:
    from api.app import create_app

    with TestClient(create_app(Settings(demo=True), store=store), raise_server_exceptions=False) as client:
        lists = {path: client.get(f"/api/v1/{path}") for path in ("importers", "exporters", "views", "rules")}
    assert {p: r.status_code for p, r in lists.items()} == dict.fromkeys(lists, 200)
    importers = {i["name"]: i for i in lists["importers"].json()}
    assert importers["example-lines"]["suffixes"] == [".ioclines"]
    assert importers["example-lines"]["builtin"] is False and importers["native"]["builtin"] is True
    assert "example-refs" in [e["name"] for e in lists["exporters"].json()]
    views = {v["name"]: v for v in lists["views"].json()}
    assert views["example-owners"]["title_vi"] == "Cơ quan và hệ thống (ví dụ)"
    assert views["example-owners"]["label_en"] == "Systems by organisation (example)"
    rules = {r["code"]: r for r in lists["rules"].json()}
    assert rules["EX001"]["origin"].startswith("extension ioc-catalog-example 0.1.0")
    assert rules["CR001"]["origin"] == "built-in catalog.compliance:builtin_rules"


def test_an_extension_taking_a_builtin_name_is_refused_naming_both(
    extension: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    site = tmp_path_factory.mktemp("clash")
    (site / "clash_ext.py").write_text(
        "class Native:\n    name, suffixes, description = 'native', ('.json',), 'impostor'\n"
        "    def read(self, path, max_bytes): return None\n    def transform(self, document, source): return None\n",
        encoding="utf-8",
    )
    install_dist_info(site, "clash-ext", "2.0", {"ioc_catalog.importers": {"native": "clash_ext:Native"}})
    sys.path.insert(0, str(site))
    IMPORTERS.reset()
    try:
        with pytest.raises(NameTaken) as exc:
            IMPORTERS.names()
        assert str(exc.value) == (
            "the importer name 'native' is already registered by built-in importers.native:importers; extension "
            "clash-ext 2.0 (entry point ioc_catalog.importers: native = clash_ext:Native) cannot register it too "
            "(uninstall one of them or rename it)"
        )
        vi = text(exc.value.message, "vi")
        assert "clash-ext 2.0" in vi and "đã được built-in importers.native:importers đăng ký" in vi
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("clash_ext", None)
        IMPORTERS.reset()
    assert IMPORTERS.get("native").description != "impostor"


def test_an_extension_that_fails_to_load_is_named(tmp_path_factory: pytest.TempPathFactory) -> None:
    site = tmp_path_factory.mktemp("broken")
    install_dist_info(site, "broken-ext", "1.0", {"ioc_catalog.views": {"broken": "no_such_module_k:View"}})
    sys.path.insert(0, str(site))
    VIEWS.reset()
    try:
        with pytest.raises(RegistryError) as exc:
            VIEWS.names()
        assert (
            "cannot load the view of extension broken-ext 1.0 (entry point ioc_catalog.views: broken = "
            "no_such_module_k:View): ModuleNotFoundError" in str(exc.value)
        )
    finally:
        sys.path.remove(str(site))
        VIEWS.reset()
    assert "ioc" in VIEWS.names()


# ---------------------------------------------------------------------------------------------------------------
# Registering at run time


class _Importer:
    suffixes, description = (".k",), "a test importer"

    def __init__(self, name: str):
        self.name = name

    def read(self, path: Path, max_bytes: int) -> Any:
        return None

    def transform(self, document: Any, source: str) -> Any:
        return None


def test_registering_a_taken_name_fails_with_a_clear_error() -> None:
    with pytest.raises(NameTaken) as exc:
        register(_Importer("xlsx"))
    assert (
        "the importer name 'xlsx' is already registered by built-in importers.spreadsheet:importers; "
        f"{__name__}._Importer cannot register it too" in str(exc.value)
    )
    assert IMPORTERS.get("xlsx").description != "a test importer"
    with pytest.raises(NameTaken, match="the compliance rule name 'CR001' is already registered by built-in"):
        RULES.register("CR001", Rule("CR001", "info", Label("x {name}", "x {name}"), "", "not_reviewed"))
    with pytest.raises(NameTaken, match="the view name 'ioc' is already registered by built-in diagrams.views"):
        VIEWS.register(
            "ioc", type("Ioc", (), {"name": "ioc", "title": Label("", ""), "label": Label("", ""), "build": len})()
        )


def test_an_alias_is_a_name_too() -> None:
    from importers.exports import Exported, Exporter, exporters

    EXPORTERS.register(
        "k-json",
        Exporter("k-json", "application/json", "k.json", "d", lambda store, _: Exported(b""), aliases=("json",)),
    )
    try:
        with pytest.raises(
            NameTaken,
            match="the exporter name 'json' is already registered by built-in "
            "importers.exports:builtin_exporters; .*Exporter cannot",
        ):
            exporters()
    finally:
        EXPORTERS.reset()
    assert "k-json" not in exporters()


def test_replace_is_said_out_loud_and_reset_restores_the_builtins() -> None:
    registry: Registry[Any] = Registry(
        Label("", "thing"),
        "ioc_catalog.test-k-none",
        ("importers.native:importers",),
        key=lambda i: i.name,
        accepts=lambda o: hasattr(o, "transform"),
    )
    registry.register("x", _Importer("x"))
    registry.register("native", _Importer("native"), replace=True)
    assert registry.names() == ["native", "x"]
    assert registry.origin("native") == f"{__name__}._Importer"
    registry.reset()
    assert registry.names() == ["native"] and registry.is_builtin("native")
    with pytest.raises(RegistryError):
        registry.register("y", _Importer("z"))  # registered under another name than its own
    with pytest.raises(RegistryError):
        registry.register("y", object())


def test_an_item_that_asks_the_registry_while_it_loads_sees_it_as_it_stands() -> None:
    registry: Registry[Any] = Registry(
        Label("", "thing"),
        "ioc_catalog.test-k-none",
        (f"{__name__}:_first", f"{__name__}:_asking"),
        key=lambda i: i.name,
        accepts=lambda o: hasattr(o, "transform"),
    )
    _ASKING.append(registry)
    try:
        assert registry.names() == ["a", "b"]
    finally:
        _ASKING.clear()
    assert _SEEN == [["a"]]


_ASKING: list[Registry[Any]] = []
_SEEN: list[list[str]] = []


def _first() -> list[Any]:
    return [_Importer("a")]


def _asking() -> list[Any]:
    _SEEN.append(_ASKING[0].names())  # no endless loading: the registry as loaded so far
    return [_Importer("b")]


def test_an_unknown_name_lists_the_available_ones() -> None:
    with pytest.raises(UnknownName) as exc:
        EXPORTERS.get("docx")
    assert str(exc.value) == "unknown exporter 'docx'; available: native, xlsx, csv, archimate"
    assert exc.value.status == 404
    assert (
        text(exc.value.message, "vi") == "không có định dạng xuất 'docx'; các tên hiện có: native, xlsx, csv, archimate"
    )


def test_registries_load_nothing_at_import_time() -> None:
    code = (
        "import sys, catalog.compliance, diagrams.registry, importers.base, importers.exports, api.cli\n"
        "from catalog.compliance import CHECKS, RULES\nfrom diagrams.registry import VIEWS\n"
        "from importers.base import IMPORTERS\nfrom importers.exports import EXPORTERS\n"
        "print([r._loaded for r in (IMPORTERS, EXPORTERS, VIEWS, CHECKS, RULES)], 'diagrams.views' in sys.modules,"
        " 'importers.spreadsheet' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[False, False, False, False, False] False False"


# ---------------------------------------------------------------------------------------------------------------
# The rules file setting (IOC_CATALOG_RULES_FILE)

RULE = (
    "  - code: {code}\n    severity: info\n    check: {check}\n    description: d\n"
    "    message: {{vi: 'x {{name}}', en: 'x {{name}}'}}\n"
)


def test_the_rules_file_setting_adds_to_or_replaces_the_builtin_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builtin = [r.code for r in load_rules()]
    added, replacing, clashing = tmp_path / "a.yaml", tmp_path / "r.yaml", tmp_path / "c.yaml"
    added.write_text("rules:\n" + RULE.format(code="LOCAL1", check="not_reviewed"), encoding="utf-8")
    replacing.write_text(
        "builtin_rules: replace\nrules:\n" + RULE.format(code="LOCAL1", check="not_reviewed"), encoding="utf-8"
    )
    clashing.write_text("rules:\n" + RULE.format(code="CR002", check="not_reviewed"), encoding="utf-8")
    monkeypatch.setenv("IOC_CATALOG_RULES_FILE", str(added))
    get_settings.cache_clear()
    try:
        assert [r.code for r in load_rules()] == builtin + ["LOCAL1"]
    finally:
        monkeypatch.delenv("IOC_CATALOG_RULES_FILE")
        get_settings.cache_clear()
    assert [r.code for r in load_rules()] == builtin
    assert [r.code for r in load_rules(replacing)] == ["LOCAL1"]
    from catalog.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        load_rules(clashing)
    assert (
        str(exc.value.errors[0]) == "c.yaml:CR002: rule code CR002 is already taken by built-in "
        "catalog.compliance:builtin_rules"
    )
    bad = tmp_path / "m.yaml"
    bad.write_text("builtin_rules: drop\nrules: []\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="must be keep or replace"):
        load_rules(bad)
