"""Backstage as Backstage users lay it out: a Location file and every file it names beside it, a directory of
catalog-info.yaml files, a .zip of them; references resolved across the files of one run; URL targets, paths
leaving the folder, missing files and cycles reported, never followed; a missing parent group reported."""

from __future__ import annotations

import io
import os
import re
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from conftest import CORPORA
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from catalog.i18n import text as in_lang
from catalog.settings import Settings
from catalog.store import open_store
from catalog.store.base import CatalogStore
from importers import backstage
from importers.backstage import BackstageImporter, Collected
from importers.base import ImportFailed, pick, run_import

SET = CORPORA / "backstage" / "backstage-backstage@b5ef4cc"
EXAMPLES = SET / "packages" / "catalog-model" / "examples"


def counts_md() -> tuple[int, dict[str, int]]:
    """Files and entities by kind of the example set, read from COUNTS.md ("Backstage" table, "b5ef4cc examples")."""
    import ast

    for line in (CORPORA / "COUNTS.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "b5ef4cc examples":
            return int(cells[1]), ast.literal_eval(cells[2])
    raise AssertionError("COUNTS.md has no 'b5ef4cc examples' row")


# 40 files; Location 7, Group 8, User 16, API 7, Component 13, Domain 2, Resource 1, System 3
FILES, KINDS = counts_md()
MAPPED = {
    "organization": 8,
    "system": 16,
    "service": 7,
    "database": 1,
    "preserved": 2,
}  # the 2 Domains kept as they are
LINKS = 20  # 17 mapped (tests/importers/test_backstage.py lists them) and 3 preserved: System -> its Domain
IMP = BackstageImporter()
PASSWORD = "backstage-test-password-1"
URL = "https://github.com/backstage/backstage/blob/master/packages/catalog-model/examples/all-templates.yaml"

ALL = f"""\
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: example-all
  description: Every example, the way Backstage's own examples/all.yaml lists them
spec:
  targets:
    - ./acme-corp.yaml
    - ./all-apis.yaml
    - ./all-components.yaml
    - ./all-domains.yaml
    - ./all-resources.yaml
    - ./all-systems.yaml
    - ./all-environments.yaml
    - {URL}
"""


def read(path: Path, max_bytes: int = 10_000_000) -> Collected:
    return IMP.read(path, max_bytes)


def yaml_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*.yaml")}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def group(name: str, parent: str | None = None, children: str = "[]") -> str:
    up = f"\n  parent: {parent}" if parent else ""
    return (
        f"apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: {name}\n"
        f"spec:\n  type: team\n  children: {children}{up}\n"
    )


def location(name: str, *targets: str) -> str:
    lines = "".join(f"\n    - {t}" for t in targets)
    return f"apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: {name}\nspec:\n  targets:{lines}\n"


def component(name: str, owner: str, **spec: str) -> str:
    more = "".join(f"\n  {k}: {v}" for k, v in spec.items())
    return (
        f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n"
        f"spec:\n  type: service\n  lifecycle: production\n  owner: {owner}{more}\n"
    )


def notes(report_or_t) -> list[tuple[str, str, str]]:
    return [(u.location, u.field, u.reason) for u in report_or_t.unmapped]


# --- the shared example set ----------------------------------------------------------------------------------------


def test_the_root_location_file_imports_every_file_it_names_beside_it(store: CatalogStore, tmp_path: Path) -> None:
    """The corpus has no examples/all.yaml (Backstage added it later): the test writes one, the way Backstage's
    lists them, beside a copy of the examples, naming one file that is not there and one URL."""
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root)
    write(root / "all.yaml", ALL)
    got = read(root / "all.yaml")
    assert {name for name, _ in got.files} == yaml_files(root)  # every file, all.yaml included: 41
    assert len(got.files) == FILES + 1
    report = run_import(store, root / "all.yaml")
    assert report.rejected == [] and report.loaded
    assert report.source_types == {**KINDS, "Location": KINDS["Location"] + 1}
    assert sum(report.source_types.values()) == 57 + 1
    assert report.counts["entities"] == MAPPED
    assert report.result.created == {**MAPPED, "relationship": LINKS}
    where = "all.yaml: document 1 (location:default/example-all)"
    assert (where, "spec.targets[7]", f"not followed: {URL} (a remote URL is never fetched)") in notes(report)
    assert (where, "spec.targets[6]", "not found: ./all-environments.yaml (no such file beside this one)") in notes(
        report
    )
    said = [u for u in report.unmapped if u.field.startswith("spec.target")]
    assert len(said) == 2  # nothing else about targets: every other one was read
    assert all(in_lang(u.reason, "vi") != in_lang(u.reason, "en") for u in said)
    # what the Locations themselves are: lists of files, read
    kinds = Counter(u.location.rsplit("(", 1)[1].split(":")[0] for u in report.unmapped if u.field == "kind")
    assert kinds == {"location": 8, "user": 16}


def test_the_example_folder_imports_in_place_as_a_directory(store: CatalogStore) -> None:
    got = read(EXAMPLES)
    assert len(got.files) == FILES and got.notes == []
    assert {name for name, _ in got.files} == yaml_files(EXAMPLES)
    report = run_import(store, EXAMPLES, "backstage")
    assert report.rejected == [] and report.loaded
    assert report.source_types == KINDS
    assert report.result.created == {**MAPPED, "relationship": LINKS}
    # references across files: a component's owner, system and API each in a file of their own
    e = store.get_entity("system:artist-lookup")
    assert e is not None and e.owner == "organization:team-a"
    rels = {(r.source, r.type, r.target) for r in store.all_relationships()}
    assert ("system:artist-lookup", "reads", "database:artists-db") in rels
    assert ("system:wayback-search", "consumes", "service:wayback-archive") in rels
    # each item says the file it came from, relative to the folder
    assert all(u.location.split(":")[0].endswith(".yaml") for u in report.unmapped)


def test_location_files_read_in_place_follow_their_targets() -> None:
    acme = read(EXAMPLES / "acme-corp.yaml")
    assert [name for name, _ in acme.files][:2] == ["acme-corp.yaml", "acme/org.yaml"]
    assert len(acme.files) == 9 and acme.notes == []  # acme-corp.yaml, org.yaml and the 7 group files it names
    t = IMP.transform(acme, "acme-corp.yaml")
    assert t.rejected == [] and t.source_types == {"Location": 2, "Group": 8, "User": 16}
    parents = {e.ref: e.attributes.get("parent") for e in t.entities}
    assert parents["organization:team-a"] == "organization:backstage"  # parent in another file of the run
    comps = read(EXAMPLES / "all-components.yaml")
    assert len(comps.files) == 14


def test_a_directory_on_the_command_line(tmp_path: Path) -> None:
    from api.cli import app

    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    result = CliRunner().invoke(
        app,
        [
            "import",
            str(EXAMPLES),
            "--format",
            "backstage",
            "--store",
            url,
            "--lang",
            "en",
            "--report",
            str(tmp_path / "r.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    import json

    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["status"] == "finished" and report["source_types"] == KINDS
    s = open_store(url)
    try:
        assert Counter(e.kind for e in s.iter_entities()) == MAPPED
    finally:
        s.close()


# --- what is never read ---------------------------------------------------------------------------------------------


def test_targets_outside_the_folder_are_reported_and_never_opened(
    store: CatalogStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = write(tmp_path / "secret" / "catalog-info.yaml", group("secret"))
    root = tmp_path / "repo"
    write(root / "teams" / "ops.yaml", group("ops"))
    os.symlink(outside, root / "linked.yaml")
    os.symlink(outside.parent, root / "linked-dir")
    first = write(
        root / "catalog-info.yaml",
        location(
            "root",
            "../secret/catalog-info.yaml",
            "./teams/../../secret/catalog-info.yaml",
            str(outside),
            "./linked.yaml",
            "./linked-dir/catalog-info.yaml",
            "file:///etc/passwd",
            "./teams/ops.yaml",
        ),
    )
    opened: list[str] = []
    real_open = io.open

    def watch_open(file, *a, **k):
        opened.append(str(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr(io, "open", watch_open)
    monkeypatch.setattr("builtins.open", watch_open)
    got = read(first)
    monkeypatch.undo()
    assert not [p for p in opened if "secret" in p or "linked" in p]
    assert [name for name, _ in got.files] == ["catalog-info.yaml", "teams/ops.yaml"]
    reasons = {(n.field, n.reason) for n in got.notes}
    assert reasons == {
        ("spec.targets[0]", "not followed: ../secret/catalog-info.yaml is outside the folder being imported"),
        (
            "spec.targets[1]",
            "not followed: ./teams/../../secret/catalog-info.yaml is outside the folder being imported",
        ),
        ("spec.targets[2]", f"not followed: {outside} is outside the folder being imported"),
        ("spec.targets[3]", "not followed: ./linked.yaml is outside the folder being imported"),
        ("spec.targets[4]", "not followed: ./linked-dir/catalog-info.yaml is outside the folder being imported"),
        ("spec.targets[5]", "not followed: file:///etc/passwd (a remote URL is never fetched)"),
    }
    assert all(n.location == "catalog-info.yaml: document 1 (location:default/root)" for n in got.notes)
    report = run_import(store, first)
    assert report.loaded and [e.ref for e in store.iter_entities()] == ["organization:ops"]


def test_a_directory_walk_skips_links_hidden_folders_and_other_yaml(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root / "catalog-info.yaml", group("top"))
    write(root / "svc" / "catalog-info.yml", component("svc", "top"))
    write(root / "svc" / "openapi.yaml", "openapi: 3.0.0\ninfo: {title: x}\n")  # not Backstage: not read
    write(root / "svc" / "extra.yaml", group("extra"))  # says apiVersion: backstage.io/...: read
    write(root / ".git" / "catalog-info.yaml", group("hidden"))
    write(root / "node_modules" / "x" / "catalog-info.yaml", group("vendored"))
    write(tmp_path / "elsewhere" / "catalog-info.yaml", group("elsewhere"))
    os.symlink(tmp_path / "elsewhere", root / "link")
    got = read(root)
    assert [name for name, _ in got.files] == ["catalog-info.yaml", "svc/catalog-info.yml", "svc/extra.yaml"]


def test_location_cycles_are_reported_not_followed_forever(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", location("a", "./sub/b.yaml"))
    write(tmp_path / "sub" / "b.yaml", location("b", "../a.yaml", "./c.yaml"))
    write(tmp_path / "sub" / "c.yaml", location("c", "./b.yaml", "./c.yaml") + "---\n" + group("team"))
    got = read(tmp_path / "a.yaml")
    assert [name for name, _ in got.files] == ["a.yaml", "sub/b.yaml", "sub/c.yaml"]
    assert [(n.location, n.field, n.reason) for n in got.notes] == [
        (
            "sub/b.yaml: document 1 (location:default/b)",
            "spec.targets[0]",
            "not followed again: ../a.yaml leads back to a.yaml, which names this file (a cycle)",
        ),
        (
            "sub/c.yaml: document 1 (location:default/c)",
            "spec.targets[0]",
            "not followed again: ./b.yaml leads back to sub/b.yaml, which names this file (a cycle)",
        ),
        (
            "sub/c.yaml: document 1 (location:default/c)",
            "spec.targets[1]",
            "not followed again: ./c.yaml leads back to sub/c.yaml, which names this file (a cycle)",
        ),
    ]
    assert [e.ref for e in IMP.transform(got, "a.yaml").entities] == ["organization:team"]


def test_glob_targets_read_what_they_match_under_the_folder(tmp_path: Path) -> None:
    write(tmp_path / "all.yaml", location("all", "./teams/*.yaml", "./none/*.yaml"))
    for name in ("b", "a"):
        write(tmp_path / "teams" / f"{name}.yaml", group(name))
    got = read(tmp_path / "all.yaml")
    assert [name for name, _ in got.files] == ["all.yaml", "teams/a.yaml", "teams/b.yaml"]
    assert [n.reason for n in got.notes] == ["not found: ./none/*.yaml (no such file beside this one)"]


def test_the_run_is_bounded_in_files_and_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(6):
        write(tmp_path / "d" / f"g{i}" / "catalog-info.yaml", group(f"g{i}"))
    monkeypatch.setattr(backstage, "MAX_FILES", 5)
    with pytest.raises(ImportFailed) as exc:
        read(tmp_path / "d")
    assert exc.value.text("en") == "d: more than 5 files to read"
    monkeypatch.undo()
    with pytest.raises(ImportFailed) as exc:
        read(tmp_path / "d", max_bytes=300)
    assert exc.value.text("en") == "d: the files to read come to more than 300 bytes" and exc.value.reason == (
        "import-too-large"
    )
    write(tmp_path / "empty" / "notes.yaml", "a: 1\n")
    with pytest.raises(ImportFailed) as exc:
        read(tmp_path / "empty")
    assert "no catalog-info.yaml" in exc.value.text("en") and "không có catalog-info.yaml" in exc.value.text("vi")


# --- one run, many files --------------------------------------------------------------------------------------------


def test_references_resolve_across_files_and_a_name_defined_twice_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root / "catalog-info.yaml", location("root", "./org.yaml", "./svc/catalog-info.yaml"))
    write(root / "org.yaml", group("platform"))
    write(root / "svc" / "catalog-info.yaml", component("api-gw", "platform") + "---\n" + group("platform"))
    t = IMP.transform(read(root / "catalog-info.yaml"), "catalog-info.yaml")
    assert [(r.location, r.field, r.reason) for r in t.rejected] == [
        (
            "svc/catalog-info.yaml: document 2 (group:default/platform)",
            "metadata.name",
            "group:default/platform is already defined in org.yaml: document 1",
        )
    ]
    assert {e.ref: e.owner for e in t.entities} == {
        "organization:platform": None,
        "system:api-gw": "organization:platform",
    }


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "no-strict"])
def test_a_parent_group_outside_the_run_is_a_warning_strict_or_not(
    store: CatalogStore, tmp_path: Path, strict: bool
) -> None:
    """Backstage keeps a group whose parent no file defines and shows the dangling relation: so does the import,
    strict or not (strict refuses rejected items, and a dangling reference is a warning, not a rejection)."""
    root = tmp_path / "team"
    first = write(root / "catalog-info.yaml", group("team-x", parent="backstage") + "---\n" + component("x", "team-x"))
    report = run_import(store, first, strict=strict)
    assert report.loaded and report.status == "finished" and report.rejected == []
    assert notes(report) == [
        (
            "catalog-info.yaml: document 1 (group:default/team-x)",
            "spec.parent",
            "parent group group:default/backstage is neither in this import nor in the catalog: the group is imported "
            "without its parent",
        )
    ]
    assert in_lang(report.unmapped[0].text("vi"), "vi") == (
        "catalog-info.yaml: tài liệu 1 (group:default/team-x): spec.parent: nhóm cấp trên group:default/backstage "
        "không có trong lần nhập này lẫn trong danh mục: nhóm được nhập không kèm đơn vị cấp trên"
    )
    team = store.get_entity("organization:team-x")
    assert team is not None and "parent" not in team.attributes
    assert store.get_entity("system:x").owner == "organization:team-x"
    # the same file again: nothing to change, the same warning
    again = run_import(store, first, strict=strict)
    assert sum(again.result.created.values()) == 0 and sum(again.result.updated.values()) == 0
    assert notes(again) == notes(report)
    # the parent in the catalog: resolved, strict or not
    write(tmp_path / "up" / "catalog-info.yaml", group("backstage"))
    assert run_import(store, tmp_path / "up" / "catalog-info.yaml").loaded
    linked = run_import(store, first, strict=strict)
    assert linked.loaded and linked.unmapped == []
    assert store.get_entity("organization:team-x").attributes["parent"] == "organization:backstage"


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "no-strict"])
def test_dangling_owner_system_api_and_dependency_are_warnings(
    store: CatalogStore, tmp_path: Path, strict: bool
) -> None:
    """Every reference to nothing is dropped and reported where it is written, naming the field and the reference as
    Backstage writes it; the entity is imported without that link, and what does resolve is kept."""
    yaml_ = (
        group("team-x")
        + "---\n"
        + component(
            "portal",
            "team-gone",
            system="artist-engagement-portal",
            providesApis="[artist-api]",
            dependsOn="[resource:artists-db, component:www-artist]",
        )
        + "---\n"
        + component("www", "team-x", system="artist-engagement-portal")
    )
    first = write(tmp_path / "team" / "catalog-info.yaml", yaml_)
    report = run_import(store, first, strict=strict)
    assert report.loaded and report.rejected == []
    portal = "catalog-info.yaml: document 2 (component:default/portal)"
    www = "catalog-info.yaml: document 3 (component:default/www)"
    gone = "is neither in this import nor in the catalog: imported without this link"
    assert sorted(notes(report)) == sorted(
        [
            (
                portal,
                "spec.owner",
                "owner group group:default/team-gone is neither in this import nor in the catalog: imported without "
                "an owner",
            ),
            (portal, "spec.system", f"system:default/artist-engagement-portal {gone}"),
            (portal, "spec.providesApis[0]", f"api:default/artist-api {gone}"),
            (portal, "spec.dependsOn[0]", f"resource:default/artists-db {gone}"),
            (portal, "spec.dependsOn[1]", f"component:default/www-artist {gone}"),
            (www, "spec.system", f"system:default/artist-engagement-portal {gone}"),
        ]
    )
    assert {e.ref for e in store.list_entities()} == {"organization:team-x", "system:portal", "system:www"}
    assert store.get_entity("system:portal").owner is None
    assert store.get_entity("system:www").owner == "organization:team-x"
    assert store.count_relationships() == 0
    # Vietnamese: the same places, the same references
    assert "không có trong lần nhập này lẫn trong danh mục" in report.unmapped[0].text("vi")


def test_strict_still_refuses_a_rejected_entity_beside_a_dangling_reference(
    store: CatalogStore, tmp_path: Path
) -> None:
    """A real rejection (a lifecycle Backstage does not know) refuses a strict run and names only itself; the
    dangling parent beside it stays a warning."""
    bad = component("x", "team-x").replace("lifecycle: production", "lifecycle: someday")
    first = write(tmp_path / "t" / "catalog-info.yaml", group("team-x", parent="backstage") + "---\n" + bad)
    before = store.revision()
    report = run_import(store, first)
    assert not report.loaded and report.status == "failed" and store.revision() == before
    assert [(r.location, r.field) for r in report.rejected] == [
        ("catalog-info.yaml: document 2 (component:default/x)", "spec.lifecycle")
    ]
    assert [(u.field, u.reason.code) for u in report.unmapped] == [("spec.parent", "backstage-parent-missing")]
    loose = run_import(store, first, strict=False)
    assert loose.loaded and store.get_entity("organization:team-x") is not None


# --- archives -------------------------------------------------------------------------------------------------------


def zipped(path: Path, members: dict[str, str | bytes], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16) | 0
            z.writestr(info, target)
    return path


def test_a_zip_of_the_examples_imports_like_the_folder(store: CatalogStore, tmp_path: Path) -> None:
    members = {f"examples/{p.relative_to(EXAMPLES).as_posix()}": p.read_bytes() for p in EXAMPLES.rglob("*.yaml")}
    path = zipped(tmp_path / "examples.zip", members)
    report = run_import(store, path, "backstage")
    assert report.rejected == [] and report.loaded and report.source_types == KINDS
    assert report.result.created == {**MAPPED, "relationship": LINKS}


def test_a_zip_is_bounded_and_its_unsafe_members_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = zipped(
        tmp_path / "x.zip",
        {
            "catalog-info.yaml": location("root", "../evil.yaml", "./team.yaml", "./link.yaml"),
            "team.yaml": group("team"),
            "../evil.yaml": group("evil"),
            "/abs.yaml": group("abs"),
            "a/" * 40 + "catalog-info.yaml": group("deep"),
        },
        links={"link.yaml": "../../etc/passwd"},
    )
    got = read(path)
    assert [name for name, _ in got.files] == ["catalog-info.yaml", "team.yaml"]
    skipped = sorted(n.reason for n in got.notes if n.location == "x.zip")
    assert len(skipped) == 4 and all("is a link or its path leaves the archive" in r for r in skipped)
    assert {(n.field, n.reason) for n in got.notes if n.location != "x.zip"} == {
        ("spec.targets[0]", "not followed: ../evil.yaml is outside the folder being imported"),
        ("spec.targets[2]", "not found: ./link.yaml (no such file beside this one)"),
    }
    bomb = zipped(tmp_path / "bomb.zip", {"catalog-info.yaml": group("g") + "#" * 2_000_000})
    assert bomb.stat().st_size < 100_000
    with pytest.raises(ImportFailed) as exc:
        read(bomb, max_bytes=1_000_000)
    assert exc.value.reason == "import-too-large"
    monkeypatch.setattr(backstage, "MAX_FILES", 3)
    many = zipped(tmp_path / "many.zip", {f"g{i}/catalog-info.yaml": group(f"g{i}") for i in range(4)})
    with pytest.raises(ImportFailed) as exc:
        read(many)
    assert exc.value.text("en") == "many.zip: more than 3 files to read"
    with pytest.raises(ImportFailed) as exc:
        read(write(tmp_path / "fake.zip", "not a zip"))
    assert exc.value.text("en") == "fake.zip: not a readable zip archive"


def test_a_zip_uploaded_on_the_import_page(store: CatalogStore, tmp_path: Path) -> None:
    from api.app import create_app
    from catalog.accounts import Accounts

    Accounts(store).add_user("architect", "architect", None, display="architect", password=PASSWORD)
    members = {p.relative_to(EXAMPLES).as_posix(): p.read_bytes() for p in EXAMPLES.rglob("*.yaml")}
    data = zipped(tmp_path / "examples.zip", members).read_bytes()
    c = TestClient(create_app(Settings(demo=True), store=store))  # type: ignore[arg-type]
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', c.get("/signin").text).group(1)  # type: ignore[union-attr]
    c.post("/signin", data={"csrf": token, "name": "architect", "password": PASSWORD}, follow_redirects=False)
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', c.get("/import").text).group(1)  # type: ignore[union-attr]
    r = c.post(
        "/import",
        data={"csrf": token, "format": "backstage"},
        files={"file": ("examples.zip", data, "application/zip")},
    )
    assert r.status_code == 200, r.text[:2000]
    assert store.count_entities() == 0  # a dry run first
    kept = re.search(r'name="token" value="([A-Za-z0-9_-]{20,60})"', r.text)
    assert kept, r.text[:3000]
    r = c.post("/import", data={"csrf": token, "token": kept.group(1), "format": "backstage"})
    assert r.status_code == 200
    assert Counter(e.kind for e in store.iter_entities()) == MAPPED
    bad = c.post(
        "/import",
        data={"csrf": token, "format": "backstage"},
        files={"file": ("x.zip", b"PK\x03\x04 broken", "application/zip")},
    )
    assert bad.status_code == 422 and "không phải tệp nén zip đọc được" in bad.text


def test_picked_for_a_directory_with_a_catalog_info(tmp_path: Path) -> None:
    write(tmp_path / "repo" / "catalog-info.yaml", group("g"))
    assert pick(tmp_path / "repo", None).name == "backstage"
    assert pick(EXAMPLES, None).name == "backstage"  # its Location files say apiVersion: backstage.io/...
    write(tmp_path / "other" / "notes.yaml", "a: 1\n")
    with pytest.raises(ImportFailed):
        pick(tmp_path / "other", None)


# --- every kind: what has no counterpart is kept as it is ------------------------------------------------------------

KINDS_BEYOND = """\
apiVersion: backstage.io/v1alpha1
kind: Environment
metadata:
  name: staging
  title: Staging
  description: Where releases wait
  annotations:
    example.com/region: hcm-1
spec:
  type: kubernetes
  owner: group:ops
---
apiVersion: backstage.io/v1alpha1
kind: AiResource
metadata:
  name: summariser
spec:
  type: llm
  model: {family: example, size: 7b}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: portal
spec:
  type: website
  lifecycle: production
  owner: group:ops
  dependsOn: [environment:staging, airesource:summariser]
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: ops
spec:
  type: team
  children: []
"""


def test_environment_and_unknown_kinds_are_kept_as_preserved_elements(store: CatalogStore, tmp_path: Path) -> None:
    report = run_import(store, write(tmp_path / "catalog-info.yaml", KINDS_BEYOND))
    assert report.rejected == [] and report.loaded
    assert not [u for u in report.unmapped if u.field == "kind"]  # nothing left out
    env = store.get_entity("preserved:environment-staging")
    assert env is not None and env.name.en == "Staging" and env.description.en == "Where releases wait"
    assert {k: env.attributes[k] for k in ("source_format", "source_type", "source_id")} == {
        "source_format": "backstage",
        "source_type": "Environment",
        "source_id": "environment:default/staging",
    }
    assert env.attributes["source_properties"] == [
        "backstage:spec.type=kubernetes",
        "backstage:spec.owner=group:ops",
        "backstage:metadata.annotations.example.com/region=hcm-1",
    ]
    assert "type:kubernetes" in env.tags
    ai = store.get_entity("preserved:airesource-summariser")
    assert ai is not None and ai.attributes["source_type"] == "AiResource"
    assert "backstage:spec.model.size=7b" in ai.attributes["source_properties"]
    links = {(r.source, r.type, r.target, r.properties.get("source_type")) for r in store.all_relationships()}
    assert links == {
        ("system:portal", "preserved", "preserved:environment-staging", "dependsOn"),
        ("system:portal", "preserved", "preserved:airesource-summariser", "dependsOn"),
    }


def test_hostile_targets_are_reported_and_the_run_goes_on(store: CatalogStore, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root / "team.yaml", group("team"))
    long = "./" + "a" * 5_000 + ".yaml"
    text = (
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: odd}\n"
        f'spec:\n  target: ./team.yaml\n  targets: [42, {{a: b}}, "./x\\0.yaml", "./a**b.yaml", "{long}", ""]\n'
    )
    first = write(root / "catalog-info.yaml", text)
    got = read(first)
    assert [name for name, _ in got.files] == ["catalog-info.yaml", "team.yaml"]
    said = {(n.field, n.reason.split(":")[0]) for n in got.notes}
    assert said == {
        ("spec.targets[0]", "must be text"),
        ("spec.targets[1]", "must be text"),
        ("spec.targets[2]", "not found"),
        ("spec.targets[3]", "not found"),
        ("spec.targets[4]", "not found"),
        ("spec.targets[5]", "not found"),
    }, got.notes
    assert all(len(n.reason) < 2_100 for n in got.notes)  # the long target is quoted clipped
    report = run_import(store, first)
    assert report.loaded and store.get_entity("organization:team") is not None


def test_a_broken_file_named_by_a_location_refuses_the_run_naming_it(store: CatalogStore, tmp_path: Path) -> None:
    write(tmp_path / "teams" / "bad.yaml", "apiVersion: backstage.io/v1alpha1\nkind: [unclosed\n")
    first = write(tmp_path / "catalog-info.yaml", location("root", "./teams/bad.yaml") + "---\n" + group("g"))
    with pytest.raises(ImportFailed) as exc:
        run_import(store, first)
    assert exc.value.text("en").startswith("teams/bad.yaml: not valid YAML at line 3")
    assert exc.value.text("vi").startswith("teams/bad.yaml: ")
    assert store.count_entities() == 0


def test_kept_values_are_bounded_and_what_is_cut_is_reported(tmp_path: Path) -> None:
    notes_ = "".join(f"\n    n{i}: v" for i in range(600))
    text = (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: big\n  annotations:"
        f"{notes_}\n    long: {'x' * 3_000}\n"
        "spec: {type: service, lifecycle: production, owner: group:ops}\n---\n" + group("ops")
    )
    t = IMP.transform(read(write(tmp_path / "catalog-info.yaml", text)), "catalog-info.yaml")
    big = next(e for e in t.entities if e.ref == "system:big")
    kept = big.attributes["source_properties"]
    assert len(kept) == backstage.MAX_KEPT and kept[0] == "backstage:metadata.annotations.n0=v"
    assert [(u.field, u.reason) for u in t.unmapped] == [
        ("metadata", "only the first 500 of its 601 values are kept"),
        ("metadata", "1 value longer than 2,000 characters is kept cut to that length"),
    ]


def test_a_directory_walk_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(30):
        write(tmp_path / "big" / f"d{i}" / "readme.txt", "x")
    monkeypatch.setattr(backstage, "MAX_WALK", 40)
    with pytest.raises(ImportFailed) as exc:
        read(tmp_path / "big")
    assert exc.value.text("en") == "big: more than 40 files and folders to look through; import a smaller folder"
