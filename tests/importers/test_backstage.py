"""Backstage catalog YAML: the corpus counts of COUNTS.md, references resolved with Backstage's defaulting rules,
everything unmapped reported, nothing ever fetched, malformed files refused with a clear error."""

from __future__ import annotations

import io
import socket
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from conftest import CORPORA

from catalog.digest import content_hash
from catalog.i18n import text as in_lang
from catalog.store.base import CatalogStore
from importers.backstage import BackstageImporter, EntityRef, parse_ref, read_yaml_documents, references, self_ref
from importers.base import ImportFailed, list_runs, pick, run_import

SET = CORPORA / "backstage" / "backstage-backstage@b5ef4cc"
EXAMPLES = SET / "packages" / "catalog-model" / "examples"
ROOT_INFO = SET / "catalog-info.yaml"
FILES = sorted(EXAMPLES.rglob("*.yaml"))
# COUNTS.md, "Backstage" table
KINDS = {"Location": 7, "Group": 8, "User": 16, "API": 7, "Component": 13, "Domain": 2, "Resource": 1, "System": 3}
IMP = BackstageImporter()


def transformed(path: Path):
    """One file on its own: its Locations reported, not followed (tests/importers/test_backstage_runs.py follows)."""
    return IMP.transform(read_yaml_documents(path, 10_000_000), path.name)


def combined(tmp_path: Path) -> Path:
    """The whole example set as one multi-document file (what `for f in ...; do echo ---; cat $f; done` makes)."""
    out = tmp_path / "all-examples.yaml"
    out.write_text("".join("---\n" + f.read_text(encoding="utf-8") + "\n" for f in FILES), encoding="utf-8")
    return out


def write(tmp_path: Path, text: str, name: str = "catalog-info.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# --- the corpus, against COUNTS.md -------------------------------------------------------------------------------


def test_example_set_entity_and_reference_counts_match_counts_md() -> None:
    assert len(FILES) == 40
    kinds: Counter = Counter()
    docs = []
    for f in FILES:
        t = transformed(f)
        kinds.update(t.source_types)
        docs += [d for d in read_yaml_documents(f, 10_000_000) if d]
    assert dict(kinds) == KINDS and sum(kinds.values()) == 57
    defined = {self_ref(d) for d in docs}
    refs = [(d["metadata"]["name"], fld, ref) for d in docs for fld, ref in references(d)]
    assert not [r for r in refs if isinstance(r[2], ValueError)]
    assert len(refs) == 76
    assert [r for r in refs if r[2] not in defined] == []  # 0 dangling


def test_root_catalog_info_has_one_dangling_owner(store: CatalogStore) -> None:
    docs = read_yaml_documents(ROOT_INFO, 10_000_000)
    refs = [(fld, ref) for d in docs for fld, ref in references(d)]
    assert refs == [("spec.owner", EntityRef("group", "default", "cncf"))]  # "CNCF": kinds and names fold case
    report = run_import(store, ROOT_INFO)
    assert report.source_types == {"Component": 1}
    # Backstage keeps the component and shows the dangling owner: so does the import, strict (the default) or not
    assert report.rejected == [] and report.loaded and report.status == "finished"
    assert [(r.location, r.field, r.reason) for r in report.unmapped if r.field == "spec.owner"] == [
        (
            "catalog-info.yaml: document 1 (component:default/backstage)",
            "spec.owner",
            "owner group group:default/cncf is neither in this import nor in the catalog: imported without an owner",
        )
    ]
    e = store.get_entity("system:backstage")
    assert e is not None and e.owner is None


def test_every_entity_is_mapped_or_reported(tmp_path: Path) -> None:
    t = transformed(combined(tmp_path))
    assert t.rejected == []
    assert Counter(e.kind for e in t.entities) == {
        "organization": 8,
        "system": 16,
        "service": 7,
        "database": 1,
        "preserved": 2,  # the Domains, kept as they are
    }
    reported = Counter(u.location.split("(")[1].split(":")[0] for u in t.unmapped if u.field == "kind")
    assert reported == {"location": 7, "user": 16}
    assert len(t.entities) + sum(reported.values()) == 57


def test_every_reference_is_mapped_or_reported(store: CatalogStore, tmp_path: Path) -> None:
    report = run_import(store, combined(tmp_path))
    assert report.rejected == [] and report.loaded
    assert report.result.created == {
        "organization": 8,
        "system": 16,
        "service": 7,
        "database": 1,
        "preserved": 2,
        "relationship": 20,
    }
    ents = {e.ref: e for e in store.iter_entities()}
    # parent (7) and children (7) agree: every group but the root has its parent
    assert {r: e.attributes.get("parent") for r, e in ents.items() if e.kind == "organization"} == {
        "organization:acme-corp": None,
        "organization:infrastructure": "organization:acme-corp",
        "organization:backstage": "organization:infrastructure",
        "organization:boxoffice": "organization:infrastructure",
        "organization:team-a": "organization:backstage",
        "organization:team-b": "organization:backstage",
        "organization:team-c": "organization:boxoffice",
        "organization:team-d": "organization:boxoffice",
    }
    # owners: 13 components + 7 APIs + 1 resource + 3 systems; the 3 owned by user:guest are reported
    owned = {r: e.owner for r, e in ents.items() if e.kind not in ("organization", "preserved")}
    assert sum(1 for o in owned.values() if o) == 21
    assert {r for r, o in owned.items() if o is None} == {
        "system:playback-order",
        "system:searcher",
        "system:shuffle-api",
    }
    user_owners = [u for u in report.unmapped if u.field == "spec.owner"]
    assert len(user_owners) == 3 and all("user:default/guest" in u.reason for u in user_owners)
    assert owned["service:petstore"] == "organization:team-c" and owned["database:artists-db"] == "organization:team-a"
    # system, subcomponentOf, providesApis, consumesApis, dependsOn
    assert {(r.source, r.type, r.target) for r in store.all_relationships()} == {
        ("system:artist-lookup", "part_of", "system:artist-engagement-portal"),
        ("system:www-artist", "part_of", "system:artist-engagement-portal"),
        ("database:artists-db", "part_of", "system:artist-engagement-portal"),
        ("system:playback-sdk", "part_of", "system:audio-playback"),
        ("system:playback-order", "part_of", "system:audio-playback"),
        ("system:shuffle-api", "part_of", "system:audio-playback"),
        ("system:podcast-api", "part_of", "system:podcast"),
        ("system:queue-proxy", "part_of", "system:podcast"),
        ("system:wayback-archive-ingestion", "part_of", "system:wayback-archive"),
        ("system:wayback-archive-storage", "part_of", "system:wayback-archive"),
        ("system:petstore", "provides", "service:petstore"),
        ("system:petstore", "provides", "service:streetlights"),
        ("system:petstore", "provides", "service:hello-world"),
        ("system:wayback-archive", "provides", "service:wayback-archive"),
        ("system:wayback-search", "provides", "service:wayback-search"),
        ("system:wayback-search", "consumes", "service:wayback-archive"),
        ("system:artist-lookup", "reads", "database:artists-db"),
        ("system:artist-engagement-portal", "preserved", "preserved:domain-artists"),
        ("system:audio-playback", "preserved", "preserved:domain-playback"),
        ("system:podcast", "preserved", "preserved:domain-playback"),
    }
    # domain: a tag on each System
    assert {
        r: [t for t in e.tags if t.startswith("domain:")]
        for r, e in ents.items()
        if "type:" not in " ".join(e.tags) and e.kind == "system"
    } == {
        "system:artist-engagement-portal": ["domain:artists"],
        "system:audio-playback": ["domain:playback"],
        "system:podcast": ["domain:playback"],
    }
    assert ents["service:petstore"].attributes == {
        "lifecycle": "building",
        "protocol": "rest",
        "url": "https://github.com/swagger-api/swagger-petstore",
        "source_properties": [  # nothing the mapping does not use is lost: the links as they are written
            "backstage:metadata.links[0].url=https://github.com/swagger-api/swagger-petstore",
            "backstage:metadata.links[0].title=GitHub Repo",
            "backstage:metadata.links[0].icon=github",
            "backstage:metadata.links[1].url=https://github.com/OAI/OpenAPI-Specification/blob/master/examples/v3.0/"
            "petstore.yaml",
            "backstage:metadata.links[1].title=API Spec",
            "backstage:metadata.links[1].icon=code",
        ],
    }
    assert ents["organization:team-a"].attributes["source_properties"] == [
        "backstage:spec.profile.email=team-a@example.com",
        "backstage:spec.profile.picture=https://avatars.dicebear.com/api/identicon/team-a@example.com.svg"
        "?background=%23fff&margin=25",
    ]
    assert not [u for u in report.unmapped if u.field == "metadata"]  # annotations and links are kept, not reported
    assert ents["service:hello-world"].attributes["lifecycle"] == "retiring"  # deprecated
    assert ents["organization:team-a"].name.en == "team-a" and ents["organization:acme-corp"].name.en == "ACME Corp"
    # the report carries counts per kind and per Backstage kind
    assert report.counts["entities"] == {"database": 1, "organization": 8, "preserved": 2, "service": 7, "system": 16}
    assert report.source_types == KINDS


def test_importing_file_by_file_gives_the_same_catalog(store: CatalogStore, tmp_path: Path) -> None:
    """Each file on its own, strict: references to other files resolve against what is already in the catalog;
    files whose targets are not in yet are refused (nothing written) and succeed on a later pass."""
    from catalog.store import open_store

    pending, passes = list(FILES), 0
    while pending and passes < 10:
        passes += 1
        left = []
        for f in pending:
            rev = store.revision()
            report = run_import(store, f)
            if report.rejected:
                assert not report.loaded and store.revision() == rev
                left.append(f)
        assert len(left) < len(pending), [str(f) for f in left]
        pending = left
    assert pending == []
    whole = open_store(f"sqlite:///{tmp_path / 'whole.db'}")
    run_import(whole, combined(tmp_path))
    assert content_hash(store) == content_hash(whole)
    whole.close()
    runs = list_runs(store, limit=200)
    assert sum(1 for r in runs if r["status"] == "finished") == 40


def test_second_import_changes_nothing_and_dry_run_writes_nothing(store: CatalogStore, tmp_path: Path) -> None:
    f = combined(tmp_path)
    dry = run_import(store, f, dry_run=True)
    assert store.revision()[0] == 0 and store.count_entities() == 0
    first = run_import(store, f)
    assert dry.result.created == first.result.created
    rev, digest = store.revision(), content_hash(store)
    second = run_import(store, f)
    assert second.result.total_changes == 0 and (store.revision(), content_hash(store)) == (rev, digest)


# --- never fetched -----------------------------------------------------------------------------------------------

REMOTE = """\
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: remote
spec:
  type: url
  target: https://example.com/catalog-info.yaml
  targets:
    - ../../etc/passwd
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: fetched
spec:
  type: openapi
  lifecycle: production
  owner: group:ops
  definition:
    $json: https://example.com/openapi.json
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: ops
  annotations:
    note: {$yaml: ./secret.yaml}
spec:
  type: team
  children: []
"""


def test_placeholders_and_location_targets_are_reported_never_fetched(
    store: CatalogStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, REMOTE, "remote.yaml")
    spotify = EXAMPLES / "apis" / "spotify-api.yaml"

    def no_network(*a, **k):
        raise AssertionError("network access attempted")

    opened: list[str] = []
    real_open = io.open

    def watch_open(file, *a, **k):
        opened.append(str(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(io, "open", watch_open)
    monkeypatch.setattr("builtins.open", watch_open)
    t = IMP.transform(IMP.read(path, 10_000_000), path.name)  # a run: its Locations are followed
    s = IMP.transform(IMP.read(spotify, 10_000_000), spotify.name)
    assert [p for p in opened if not p.endswith(("remote.yaml", "spotify-api.yaml"))] == []
    monkeypatch.undo()  # the store may open its own files
    got = {(u.location.split(": ", 1)[1], u.field, u.reason) for u in t.unmapped}
    assert (
        "document 1 (location:default/remote)",
        "spec.target",
        "not followed: https://example.com/catalog-info.yaml (a remote URL is never fetched)",
    ) in got
    assert (
        "document 1 (location:default/remote)",
        "spec.targets[0]",
        "not followed: ../../etc/passwd is outside the folder being imported",
    ) in got
    assert (
        "document 2 (api:default/fetched)",
        "spec.definition",
        "$json placeholder not fetched (https://example.com/openapi.json)",
    ) in got
    assert (
        "document 3 (group:default/ops)",
        "metadata.annotations.note",
        "$yaml placeholder not fetched (./secret.yaml)",
    ) in got
    assert [(u.field, u.reason) for u in s.unmapped if "$text" in u.reason] == [
        (
            "spec.definition",
            "$text placeholder not fetched (https://github.com/APIs-guru/openapi-directory/blob/"
            "dab6854d4d599aafb0eb36e6c7ae1fe0c37509b7/APIs/spotify.com/2021.4.2/openapi.yaml)",
        )
    ]
    assert [e.ref for e in t.entities] == ["service:fetched", "organization:ops"]
    assert all(in_lang(u.reason, "vi") for u in t.unmapped + s.unmapped)


# --- references --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,default_kind,ns,expected",
    [
        ("team-a", "group", "default", EntityRef("group", "default", "team-a")),
        ("user:guest", "group", "default", EntityRef("user", "default", "guest")),
        ("Resource:Infra/Artists-DB", None, "default", EntityRef("resource", "infra", "artists-db")),
        ("payments/api-x", "api", "shop", EntityRef("api", "payments", "api-x")),
        ("api-x", "api", "shop", EntityRef("api", "shop", "api-x")),  # the referring entity's namespace
    ],
)
def test_reference_defaulting(text: str, default_kind: str | None, ns: str, expected: EntityRef) -> None:
    assert parse_ref(text, default_kind, ns) == expected


def test_dependson_needs_a_kind_and_bad_references_are_rejected(tmp_path: Path) -> None:
    t = transformed(
        write(
            tmp_path,
            """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x}
spec: {type: service, lifecycle: production, dependsOn: [artists-db, 'resource:bad name'], owner: 'a:b:c'}
""",
        )
    )
    assert [(r.field, r.reason) for r in t.rejected] == [
        ("spec.owner", "'a:b:c' is not a valid entity reference [kind:][namespace/]name"),
        ("spec.dependsOn[0]", "'artists-db' must name its kind here (for example component:artists-db)"),
        ("spec.dependsOn[1]", "'resource:bad name' is not a valid entity reference [kind:][namespace/]name"),
    ]
    assert in_lang(t.rejected[1].reason, "vi").startswith("'artists-db' phải ghi rõ loại")


def test_namespaced_entities_and_resources_resolved_against_the_catalog(store: CatalogStore, tmp_path: Path) -> None:
    infra = write(
        tmp_path,
        """\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: ops, namespace: infra}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: k8s, namespace: infra}
spec: {type: kubernetes-cluster, owner: ops}
""",
        "infra.yaml",
    )
    app = write(
        tmp_path,
        """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: web}
spec: {type: website, lifecycle: experimental, owner: infra/ops, dependsOn: ['resource:infra/k8s']}
""",
        "app.yaml",
    )
    assert run_import(store, infra, "backstage").rejected == []
    assert store.get_entity("platform:infra..k8s").owner == "organization:infra..ops"
    report = run_import(store, app, "backstage")
    assert report.rejected == []
    assert [r.id for r in store.list_relationships("system:web")] == ["system:web>hosted_on>platform:infra..k8s"]


COMPONENT = (
    "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\n"
    "spec: {type: service, owner: team-a, lifecycle: %s}\n"
)


@pytest.mark.parametrize(
    "text,field,reason",
    [
        ("- just\n- a list\n", "", "a Backstage entity is a mapping with apiVersion, kind, metadata and spec"),
        (
            "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {}\nspec: {owner: a}\n",
            "metadata.name",
            "None is not a Backstage name (1-63 letters and digits separated by '-', '_' or '.')",
        ),
        (
            "kind: System\nmetadata: {name: x}\nspec: {owner: a}\n",
            "apiVersion",
            "required (for example backstage.io/v1alpha1)",
        ),
        (
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\nspec: {type: service, owner: a}\n",
            "spec.lifecycle",
            "required for a Component",
        ),
        (
            COMPONENT % "beta",
            "spec.lifecycle",
            "'beta' is not a lifecycle this mapping knows: experimental, development, "
            "planned, production, deprecated, retired",
        ),
        (
            COMPONENT % "production" + "---\napiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: X}\n"
            "spec: {owner: team-a}\n",
            "metadata.name",
            "system:x is already used by document 1 (component:default/x)",
        ),
        (
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: g}\nspec: {type: team, children: []}\n---\n"
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: G}\nspec: {type: team, children: []}\n",
            "metadata.name",
            "group:default/g is already defined in catalog-info.yaml: document 1",
        ),
        (
            "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: x, tags: 7}\nspec: {owner: a}\n",
            "metadata.tags",
            "must be a list",
        ),
        (
            "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: x, tags: [a, [b]]}\nspec: {owner: a}\n",
            "metadata.tags",
            "must be a list of text",
        ),
    ],
)
def test_invalid_entities_are_rejected_with_location_and_field(
    tmp_path: Path, text: str, field: str, reason: str
) -> None:
    t = transformed(write(tmp_path, text))
    assert [(r.field, r.reason) for r in t.rejected] == [(field, reason)]
    assert t.rejected[0].location.startswith("catalog-info.yaml: document ")


@pytest.mark.parametrize(
    "text,message",
    [
        ("apiVersion: backstage.io/v1alpha1\nkind: [unclosed\n", "not valid YAML at line 3, column 1"),
        (
            "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"b{i}: &b{i} [*{'a' if i == 0 else f'b{i - 1}'}" + f", *{'a' if i == 0 else f'b{i - 1}'}" * 200 + "]\n"
                for i in range(10)
            ),
            "YAML aliases (an alias bomb?)",
        ),
        ("x: " + "[" * 200 + "]" * 200 + "\n", "nested deeper than 64 levels"),
        ("\tkey: value\n", "not valid YAML"),
    ],
)
def test_malformed_yaml_is_refused_clearly(store: CatalogStore, tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ImportFailed) as exc:
        run_import(store, path)
    assert message in exc.value.message and exc.value.message.startswith("catalog-info.yaml: ")
    assert exc.value.text("vi") and exc.value.text("vi") != exc.value.message
    assert store.count_entities() == 0
    assert [r["status"] for r in list_runs(store)] == ["failed"]


def test_picked_by_name_or_content(tmp_path: Path) -> None:
    assert pick(ROOT_INFO, None).name == "backstage"
    assert pick(EXAMPLES / "acme" / "org.yaml", None).name == "backstage"  # apiVersion: backstage.io/...
    other = write(tmp_path, "format: ioc-catalog\nformat_version: 1\n", "catalog.yaml")
    assert pick(other, None).name == "native"
