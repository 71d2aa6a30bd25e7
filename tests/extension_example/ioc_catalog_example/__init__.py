"""An example ioc-catalog extension (tests/extension_example): one item of every registry, each named by an entry
point in pyproject.toml. Importing this module registers nothing; ioc-catalog's registries load what the entry points
name on first use.

- ``example-lines`` importer: a ``.ioclines`` text file, one entity a line: ``kind:code | Vietnamese name``;
- ``example-refs`` exporter: every entity reference, one a line;
- ``example-owners`` view: the systems, grouped by the organisation that owns them;
- ``example_no_description`` check and its rule ``EX001``: a system without a description.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from catalog.compliance import CheckContext, Hit, Rule, rule_check
from catalog.errors import ValidationFailed
from catalog.metamodel import Label
from catalog.model import Entity
from importers.base import Rejection, Transformed, check_size
from importers.exports import Exported, Exporter


class LinesImporter:
    name = "example-lines"
    suffixes = (".ioclines",)
    description = "Example extension: one entity a line, `kind:code | name`"

    def read(self, path: Path, max_bytes: int) -> list[str]:
        check_size(path, max_bytes)  # refuses a missing, empty or too large file (ImportFailed)
        return path.read_bytes().decode("utf-8", errors="replace").splitlines()

    def transform(self, document: list[str], source: str) -> Transformed:
        t = Transformed()
        for number, line in enumerate(document, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            ref, _, name = (part.strip() for part in line.partition("|"))
            kind, _, code = ref.partition(":")
            try:
                entity = Entity.model_validate({"kind": kind, "code": code, "name": {"vi": name}})
            except (ValueError, ValidationFailed) as exc:
                t.rejected.append(Rejection(f"{source}: line {number}", "", str(exc).splitlines()[0]))
                continue
            t.locations[entity.ref] = f"{source}: line {number}"
            t.entities.append(entity)
        t.source_types["line"] = len(t.entities)
        return t


def _refs(store: Any, _: bool) -> Exported:
    return Exported("".join(f"{e.ref}\n" for e in sorted(store.iter_entities(), key=lambda e: e.ref)).encode())


REFS_EXPORTER = Exporter(
    "example-refs", "text/plain", "catalog-refs.txt", "Example extension: every entity reference, one a line", _refs
)


class OwnersView:
    name = "example-owners"
    label = Label("Hệ thống theo cơ quan (ví dụ)", "Systems by organisation (example)")  # its name in menus
    title = Label("Cơ quan và hệ thống (ví dụ)", "Organisations and their systems (example)")
    description = "Example extension: each organisation and the systems it owns"
    ref_kinds = ()

    def build(self, store: Any, params: Any) -> Any:
        from catalog.history.snapshot import revision_at
        from diagrams.model import Cluster, Diagram, Node

        d = Diagram(
            view=self.name,
            title=self.title.get(params.lang),
            lang=params.lang,
            day=store.clock().date().isoformat(),
            as_of=None,
            revision=revision_at(store, None),
        )
        for org in store.iter_entities(kind="organization"):
            d.clusters[org.ref] = Cluster(key=org.ref, label=org.name.get(params.lang))
        for e in store.iter_entities(kind="system"):
            owner = e.owner if e.owner in d.clusters else None
            d.nodes[e.ref] = Node(key=e.ref, kind=e.kind, label=e.name.get(params.lang), ref=e.ref, cluster=owner)
        return d


@rule_check("example_no_description")
def no_description(ctx: CheckContext, params: Mapping[str, Any]) -> Iterable[Hit]:
    for e in ctx.current(params.get("kinds") or ["system"]):
        if not (e.description.vi or e.description.en):
            yield Hit(e.ref)


RULES = [
    Rule(
        code="EX001",
        severity="info",
        check="example_no_description",
        params={"kinds": ["system"]},
        message=Label("“{name}” chưa có mô tả", "“{name}” has no description"),
        description="Example extension: a system without a description (ví dụ mở rộng).",
    )
]
