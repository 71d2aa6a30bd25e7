"""The approval policy (catalog/policy.py): the built-in default decides as documented, reads the metamodel's
attribute values (not kind names in code), says why, and a site's file is validated with errors naming rule and
field."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.changeset import Change
from catalog.errors import ValidationFailed
from catalog.metamodel import load_metamodel
from catalog.permissions import Principal
from catalog.policy import BUILTIN, load_policy, parse_policy
from catalog.services import CatalogService
from catalog.store.base import CatalogStore

EDITOR = Principal("editor-a", "editor", "organization:org-a")
ARCHITECT = Principal("arch", "architect")
ADMIN = Principal("root", "admin")


@pytest.fixture
def catalog(store: CatalogStore) -> CatalogStore:
    svc = CatalogService(store)
    svc.register(
        {"kind": "organization", "code": "org-a", "name": {"vi": "Sở A"}, "attributes": {"org_type": "department"}}
    )

    def add(kind: str, code: str, name: str, **attrs: object) -> None:
        svc.register(
            {
                "kind": kind,
                "code": code,
                "name": {"vi": name, "en": name},
                "owner": "organization:org-a",
                "attributes": {"lifecycle": "production", **attrs},
            }
        )

    add("platform", "ioc", "IOC thành phố", platform_type="operations_centre", platform_subtype="city_ioc")
    add("platform", "oc-yte", "Trung tâm điều hành y tế", platform_type="data", platform_subtype="sector_oc")
    add("platform", "ndxp", "NDXP", platform_type="integration", platform_subtype="ndxp", scope="national")
    add("platform", "lgsp", "LGSP", platform_type="integration", platform_subtype="lgsp", scope="provincial")
    add("platform", "kho", "Kho dữ liệu", platform_type="data", scope="provincial")
    add("database", "db-shared", "CSDL dùng chung", scope="shared")
    add("database", "db-internal", "CSDL nội bộ", scope="internal")
    add("system", "sys", "Hệ thống A")
    return store


def link(source: str, type_: str, target: str, **props: object) -> Change:
    return Change(
        "link", f"{source}>{type_}>{target}", {"source": source, "type": type_, "target": target, "properties": props}
    )


def reasons(store: CatalogStore, who: Principal, *changes: Change, lang: str = "vi") -> list[str]:
    return [r.text(lang) for r in load_policy(None, store.metamodel).review_reasons(store, who, list(changes))]


def test_the_default_policy(catalog: CatalogStore) -> None:
    new_system = Change("create", "system:new", {"kind": "system", "code": "new", "name": {"vi": "Hệ thống mới"}})
    new_database = Change("create", "database:new", {"kind": "database", "code": "new", "name": {"vi": "CSDL"}})
    assert reasons(catalog, EDITOR, new_system) == ["thêm mới Hệ thống thông tin: Hệ thống mới"]
    assert reasons(catalog, EDITOR, new_database) == []  # not a system
    # connections touching an operations centre (by type or subtype), NDXP, a shared database: review
    assert reasons(catalog, EDITOR, link("system:sys", "feeds", "platform:ioc")) == [
        "kết nối tới Trung tâm điều hành: IOC thành phố"
    ]
    assert reasons(catalog, EDITOR, link("system:sys", "feeds", "platform:oc-yte"))
    assert reasons(catalog, EDITOR, link("system:sys", "feeds", "platform:ndxp"))
    assert reasons(catalog, EDITOR, link("system:sys", "writes", "database:db-shared"))
    # via the IOC counts too; the LGSP alone, an internal database, a provincial data platform do not
    assert reasons(catalog, EDITOR, link("system:sys", "feeds", "platform:kho", via="platform:ioc"))
    assert reasons(catalog, EDITOR, link("system:sys", "feeds", "platform:lgsp")) == []
    assert reasons(catalog, EDITOR, link("system:sys", "writes", "database:db-internal")) == []
    assert reasons(catalog, EDITOR, link("system:sys", "feeds", "platform:kho")) == []
    # removing a connection to the IOC is read from the relationship as it is
    CatalogService(catalog).link({"source": "system:sys", "type": "feeds", "target": "platform:ioc"})
    assert reasons(catalog, EDITOR, Change("unlink", "system:sys>feeds>platform:ioc", {}, 1))
    # ownership, deletion, retirement: review; other edits apply
    assert reasons(catalog, EDITOR, Change("patch", "system:sys", {"owner": "organization:org-b"}, 1)) == [
        "đổi chủ quản của Hệ thống A"
    ]
    assert reasons(catalog, EDITOR, Change("delete", "system:sys", {}, 1)) == ["xóa Hệ thống A"]
    assert reasons(catalog, EDITOR, Change("retire", "system:sys", {}, 1)) == ["ngừng sử dụng Hệ thống A"]
    assert reasons(catalog, EDITOR, Change("patch", "system:sys", {"attributes": {"users": 3}}, 1)) == []
    # architects and admins apply at once
    for who in (ARCHITECT, ADMIN):
        assert reasons(catalog, who, new_system, Change("delete", "system:sys", {}, 1)) == []


def test_reasons_in_both_languages_and_once_each(catalog: CatalogStore) -> None:
    two = (link("system:sys", "feeds", "platform:ioc"), link("system:sys", "reads", "platform:ioc"))
    en = reasons(catalog, EDITOR, *two, lang="en")
    assert en == ["a connection to an operations centre: IOC thành phố"]


def test_a_site_policy_from_its_file(catalog: CatalogStore, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        """
default: review
groups:
  warehouse:
    label: {vi: kho dữ liệu, en: the data warehouse}
    match: [{kind: [platform], platform_type: [data]}]
rules:
  - id: quiet-edits
    when: {ops: [patch]}
    decision: apply
  - id: warehouse
    when: {touches: [warehouse]}
    decision: review
    reason: {vi: cần ý kiến Trung tâm dữ liệu, en: the data centre must agree}
""",
        encoding="utf-8",
    )
    policy = load_policy(path, catalog.metamodel)
    out = policy.review_reasons(catalog, ARCHITECT, [link("system:sys", "feeds", "platform:kho")])
    assert [r.text("en") for r in out] == ["the data centre must agree: Hệ thống A → Kho dữ liệu"]
    assert policy.review_reasons(catalog, ARCHITECT, [Change("patch", "system:sys", {}, 1)]) == []
    out = policy.review_reasons(catalog, ARCHITECT, [Change("delete", "system:sys", {}, 1)])
    assert [r.text("vi") for r in out] == ["thay đổi Hệ thống A (mặc định của chính sách là cần duyệt)"]


def test_a_bad_file_is_refused_naming_rule_and_field() -> None:
    mm = load_metamodel()
    bad = {
        "default": "maybe",
        "groups": {
            "g": {"label": "no-such-code", "match": [{"kind": ["platform"], "platform_type": ["rocket"]}]},
            "h": {"label": {"vi": "x", "en": "x"}, "match": [{"colour": ["red"]}]},
        },
        "rules": [
            {
                "id": "r1",
                "roles": ["mayor"],
                "when": {"ops": ["explode"], "touches": ["nowhere"]},
                "decision": "review",
            },
            {"id": "r1", "decision": "apply", "extra": 1},
            {"when": {"kinds": ["spaceship"], "owner_change": "yes"}, "decision": "review"},
        ],
    }
    with pytest.raises(ValidationFailed) as exc:
        parse_policy(bad, mm, "site.yaml")
    where = sorted(e.location for e in exc.value.errors)
    assert where == sorted(
        [
            "site.yaml:default",
            "site.yaml:groups.g.label",
            "site.yaml:groups.g.match.0.platform_type",
            "site.yaml:groups.h.match.0.colour",
            "site.yaml:rules.r1.roles",
            "site.yaml:rules.r1.when.ops",
            "site.yaml:rules.r1.when.touches",
            "site.yaml:rules.r1.id",
            "site.yaml:rules.r1.extra",
            "site.yaml:rules.2.id",
            "site.yaml:rules.2.when.kinds",
            "site.yaml:rules.2.when.owner_change",
        ]
    )


def test_the_module_names_no_kind_or_value() -> None:
    """The groups come from the file's attribute values: no string in the module's code (docstrings aside) names a
    kind, a platform type or subtype, or a database scope."""
    import ast

    tree = ast.parse((Path(__file__).resolve().parents[2] / "catalog" / "policy.py").read_text(encoding="utf-8"))
    docs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    strings -= {n.value.value for n in ast.walk(tree) if isinstance(n, ast.Expr) and id(n.value) in docs}
    mm = load_metamodel()
    platform = mm.kinds["platform"]
    vocabulary = set(mm.kinds) | set(platform.attribute("platform_type").values)
    vocabulary |= set(platform.attribute("platform_subtype").values) | {"shared", "national", "warehouse"}
    assert strings & vocabulary == set()
    assert load_policy(BUILTIN, mm).default == "apply"


def test_policy_show_on_the_command_line(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_CATALOG_")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from api.cli import main; main()", *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=120,
        )

    out = run("policy", "show", "--lang", "en")
    assert out.returncode == 0, out.stderr
    assert "Approval policy in force: builtin:approval_policy.yaml" in out.stdout
    assert "new-system" in out.stdout and "review (a draft)" in out.stdout
    shown = json.loads(run("policy", "show", "--json").stdout)
    assert shown["rules"][0]["id"] == "architects-and-admins"
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: x\n    decision: maybe\n", encoding="utf-8")
    out = run("policy", "show", "--file", str(bad), "--lang", "en")
    assert out.returncode == 1 and "bad.yaml:rules.x.decision" in out.stderr
