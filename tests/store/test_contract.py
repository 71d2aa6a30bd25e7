"""The store contract, written only against :class:`CatalogStore`: every backend runs it unchanged.

Nothing here may import a backend or speak SQL or Cypher; the ``store`` fixture (tests/conftest.py) is parametrised
over every backend in ``BACKENDS``. Assertions name whole sets and exact values, so a backend that returns a little
too much or too little fails.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Mapping

import pytest

from catalog.errors import AlreadyExists, Conflict, IntegrityError, NotFound, ValidationFailed
from catalog.model import Entity, LocalText, OrgEvent, Provenance, Relationship
from catalog.store.base import BulkLoad, CatalogStore, EntityFilter, WriteContext

UTC = dt.UTC


# --- helpers --------------------------------------------------------------------------------------------------------


@pytest.fixture
def ent(factory: tuple[Callable[..., Entity], Callable[..., Relationship]]) -> Callable[..., Entity]:
    return factory[0]


@pytest.fixture
def rl(factory: tuple[Callable[..., Entity], Callable[..., Relationship]]) -> Callable[..., Relationship]:
    return factory[1]


def refs(items: object) -> set[str]:
    """Refs of a list of entities or of a ``{ref: entity}`` mapping."""
    if isinstance(items, Mapping):
        assert all(items[k].ref == k for k in items)
        return set(items)
    return {e.ref for e in items}  # type: ignore[attr-defined]


def ids(rels: list[Relationship]) -> set[str]:
    return {r.id for r in rels}


def renamed(e: Entity, name: str) -> Entity:
    return e.model_copy(update={"name": LocalText(vi=name, en=name)})


def new_entries(store: CatalogStore, after_seq: int) -> list[tuple[str, str, dict | None, dict | None]]:
    return [(c.op, c.ref, c.before, c.after) for c in store.changelog(after_seq=after_seq)]


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, 1, hour, minute, tzinfo=UTC)


# --- entities: CRUD -------------------------------------------------------------------------------------------------


def test_create_get_update_delete_entity(store: CatalogStore, ctx: WriteContext, ent) -> None:
    created = store.create_entity(
        ent("system:hcm-1022", "Cổng dịch vụ công", owner="organization:hcm-stttt", criticality="high"), ctx
    )
    assert created.version == 1
    assert created.created_at and created.updated_at

    got = store.get_entity("system:hcm-1022")
    assert got.content() == created.content()
    assert (got.version, got.owner, got.attributes) == (
        1,
        "organization:hcm-stttt",
        {"criticality": "high", "lifecycle": "production"},
    )
    assert store.find_entity("system:hcm-1022").name.vi == "Cổng dịch vụ công"

    updated = store.update_entity(renamed(got, "Cổng dịch vụ công thành phố"), 1, ctx)
    assert updated.version == 2
    assert updated.created_at == created.created_at
    again = store.get_entity("system:hcm-1022")
    assert (again.version, again.name.vi) == (2, "Cổng dịch vụ công thành phố")

    store.delete_entity("system:hcm-1022", 2, ctx)
    assert store.find_entity("system:hcm-1022") is None
    with pytest.raises(NotFound):
        store.get_entity("system:hcm-1022")
    assert store.count_entities() == 0


def test_get_entities_returns_only_those_that_exist(store: CatalogStore, ctx: WriteContext, ent) -> None:
    for ref in ("system:a", "system:b", "database:c"):
        store.create_entity(ent(ref), ctx)
    got = store.get_entities(["system:a", "database:c", "system:missing", "system:a"])
    assert set(got) == {"system:a", "database:c"}
    assert got["database:c"].ref == "database:c"


def test_create_existing_entity_raises_already_exists(store: CatalogStore, ctx: WriteContext, ent) -> None:
    store.create_entity(ent("system:a", "Một"), ctx)
    rev = store.revision()
    with pytest.raises(AlreadyExists):
        store.create_entity(ent("system:a", "Hai"), ctx)
    assert store.get_entity("system:a").name.vi == "Một"
    assert store.revision() == rev


def test_update_and_delete_of_missing_entity_raise_not_found(store: CatalogStore, ctx: WriteContext, ent) -> None:
    with pytest.raises(NotFound):
        store.update_entity(ent("system:ghost"), 1, ctx)
    with pytest.raises(NotFound):
        store.delete_entity("system:ghost", 1, ctx)
    assert store.revision()[0] == 0
    assert store.count_entities() == 0


# --- relationships: CRUD --------------------------------------------------------------------------------------------


def test_create_find_update_delete_relationship(store: CatalogStore, ctx: WriteContext, ent, rl) -> None:
    store.create_entity(ent("system:portal"), ctx)
    store.create_entity(ent("database:dan-cu"), ctx)
    r = store.create_relationship(rl("reads", "system:portal", "database:dan-cu", protocol="rest"), ctx)
    assert (r.id, r.version) == ("system:portal>reads>database:dan-cu", 1)

    found = store.find_relationship("system:portal>reads>database:dan-cu")
    assert found is not None
    assert (found.type, found.source, found.target, found.properties) == (
        "reads",
        "system:portal",
        "database:dan-cu",
        {"protocol": "rest"},
    )

    up = store.update_relationship(
        found.model_copy(update={"properties": {"protocol": "soap", "frequency": "daily"}}), 1, ctx
    )
    assert up.version == 2
    assert store.find_relationship(r.id).properties == {"protocol": "soap", "frequency": "daily"}

    with pytest.raises(AlreadyExists):
        store.create_relationship(rl("reads", "system:portal", "database:dan-cu"), ctx)

    store.delete_relationship(r.id, 2, ctx)
    assert store.find_relationship(r.id) is None
    assert store.count_relationships() == 0
    with pytest.raises(NotFound):
        store.delete_relationship(r.id, 2, ctx)
    with pytest.raises(NotFound):
        store.update_relationship(r, 1, ctx)


def test_list_relationships_by_end_direction_and_type(store: CatalogStore, ctx: WriteContext, ent, rl) -> None:
    for ref in ("system:a", "system:b", "database:d", "platform:lgsp"):
        store.create_entity(ent(ref), ctx)
    for r in (
        rl("reads", "system:a", "database:d"),
        rl("writes", "system:b", "database:d"),
        rl("flows_to", "system:a", "system:b"),
        rl("hosted_on", "system:b", "platform:lgsp"),
    ):
        store.create_relationship(r, ctx)

    assert store.count_relationships() == 4
    assert ids(store.list_relationships()) == {
        "system:a>reads>database:d",
        "system:b>writes>database:d",
        "system:a>flows_to>system:b",
        "system:b>hosted_on>platform:lgsp",
    }
    assert ids(store.list_relationships("system:b", direction="out")) == {
        "system:b>writes>database:d",
        "system:b>hosted_on>platform:lgsp",
    }
    assert ids(store.list_relationships("system:b", direction="in")) == {"system:a>flows_to>system:b"}
    assert ids(store.list_relationships("system:b")) == {
        "system:b>writes>database:d",
        "system:b>hosted_on>platform:lgsp",
        "system:a>flows_to>system:b",
    }
    assert ids(store.list_relationships("database:d", type="reads")) == {"system:a>reads>database:d"}
    assert ids(store.list_relationships(type="writes")) == {"system:b>writes>database:d"}
    assert len(store.list_relationships(limit=2)) == 2


# --- filters, pagination, count -------------------------------------------------------------------------------------


def build_landscape(store: CatalogStore, ctx: WriteContext, ent) -> CatalogStore:
    """Two departments, their systems and databases, a few tags and attributes; one source-loaded fact."""
    store.create_entity(ent("organization:hcm-stttt", "Sở Thông tin và Truyền thông"), ctx)
    store.create_entity(ent("organization:hcm-stc", "Sở Tài chính"), ctx)
    items = [
        ent("system:hcm-1022", "Cổng dịch vụ công", owner="organization:hcm-stttt", criticality="high"),
        ent("system:hcm-egov", "Quản lý văn bản", owner="organization:hcm-stttt", lifecycle="retiring"),
        ent("system:hcm-ketoan", "Kế toán ngân sách", owner="organization:hcm-stc", criticality="high"),
        ent("database:hcm-dancu", "CSDL dân cư", owner="organization:hcm-stttt", personal_data="sensitive"),
        ent("database:hcm-taichinh", "CSDL tài chính", owner="organization:hcm-stc", lifecycle="planned"),
    ]
    tags = {"system:hcm-1022": ["ioc", "public"], "system:hcm-egov": ["ioc"], "database:hcm-dancu": ["ioc", "pii"]}
    for e in items:
        store.create_entity(e.model_copy(update={"tags": tags.get(e.ref, [])}), ctx)
    store.bulk_load(
        BulkLoad(
            source="excel:so-tc.xlsx",
            run="r1",
            entities=[ent("system:hcm-thue", "Quản lý thuế", owner="organization:hcm-stc")],
        ),
        ctx,
    )
    return store


@pytest.fixture
def landscape(store: CatalogStore, ctx: WriteContext, ent) -> CatalogStore:
    return build_landscape(store, ctx, ent)


def test_filters_return_exact_sets(landscape: CatalogStore) -> None:
    s = landscape

    def q(**kw: object) -> set[str]:
        return refs(s.list_entities(EntityFilter(**kw)))  # type: ignore[arg-type]

    assert q(kind="system") == {"system:hcm-1022", "system:hcm-egov", "system:hcm-ketoan", "system:hcm-thue"}
    assert q(kind="organization") == {"organization:hcm-stttt", "organization:hcm-stc"}
    assert q(owner="organization:hcm-stc") == {"system:hcm-ketoan", "database:hcm-taichinh", "system:hcm-thue"}
    assert q(kind="system", owner="organization:hcm-stttt") == {"system:hcm-1022", "system:hcm-egov"}
    assert q(lifecycle="retiring") == {"system:hcm-egov"}
    assert q(lifecycle="planned") == {"database:hcm-taichinh"}
    assert q(tag="ioc") == {"system:hcm-1022", "system:hcm-egov", "database:hcm-dancu"}
    assert q(tag="ioc", kind="database") == {"database:hcm-dancu"}
    assert q(tag="nothing") == set()
    assert q(attributes={"criticality": "high"}) == {"system:hcm-1022", "system:hcm-ketoan"}
    assert q(attributes={"criticality": "high", "lifecycle": "production"}, owner="organization:hcm-stc") == {
        "system:hcm-ketoan"
    }
    assert q(attributes={"personal_data": "sensitive"}) == {"database:hcm-dancu"}
    assert q(source="excel:so-tc.xlsx") == {"system:hcm-thue"}
    assert q(source="excel:other.xlsx") == set()


def test_count_matches_filters(landscape: CatalogStore) -> None:
    s = landscape
    assert s.count_entities() == 8
    assert s.count_entities(EntityFilter(kind="system")) == 4
    assert s.count_entities(EntityFilter(tag="ioc")) == 3
    assert s.count_entities(EntityFilter(owner="organization:hcm-stc", kind="database")) == 1
    # count ignores paging
    assert s.count_entities(EntityFilter(kind="system", limit=1, offset=3)) == 4


def test_pagination_is_stable_and_ordered_by_ref(landscape: CatalogStore) -> None:
    s = landscape
    everything = [e.ref for e in s.list_entities()]
    assert everything == sorted(everything)
    assert len(everything) == 8
    pages = [[e.ref for e in s.list_entities(EntityFilter(limit=3, offset=o))] for o in (0, 3, 6, 9)]
    assert [len(p) for p in pages] == [3, 3, 2, 0]
    assert sum(pages, []) == everything
    systems = [e.ref for e in s.list_entities(EntityFilter(kind="system", limit=2, offset=1))]
    assert systems == ["system:hcm-egov", "system:hcm-ketoan"]
    # same page twice gives the same answer
    assert [e.ref for e in s.list_entities(EntityFilter(limit=3, offset=3))] == pages[1]


def test_iter_entities_walks_everything(landscape: CatalogStore) -> None:
    assert [e.ref for e in landscape.iter_entities(batch=3)] == sorted(e.ref for e in landscape.list_entities())


# --- search ---------------------------------------------------------------------------------------------------------


def build_named(store: CatalogStore, ctx: WriteContext, ent) -> CatalogStore:
    for ref, name in [
        ("organization:hcm-stttt", "Sở Thông tin và Truyền thông"),
        ("organization:hcm-stc", "Sở Tài chính"),
        ("organization:dn-city", "Thành phố Đà Nẵng"),
        ("organization:hn-city", "Thành phố Hà Nội"),
        ("system:hcm-1022", "Tổng đài 1022"),
        ("database:hcm-dat-dai", "CSDL đất đai"),
    ]:
        store.create_entity(ent(ref, name), ctx)
    return store


@pytest.fixture
def named(store: CatalogStore, ctx: WriteContext, ent) -> CatalogStore:
    return build_named(store, ctx, ent)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("so thong tin", {"organization:hcm-stttt"}),
        ("Sở Thông tin", {"organization:hcm-stttt"}),
        ("SỞ THÔNG", {"organization:hcm-stttt"}),
        ("truyen thong", {"organization:hcm-stttt"}),
        ("so", {"organization:hcm-stttt", "organization:hcm-stc"}),
        ("đà nẵng", {"organization:dn-city"}),
        ("da nang", {"organization:dn-city"}),
        ("ĐÀ NẴNG", {"organization:dn-city"}),
        ("thanh pho", {"organization:dn-city", "organization:hn-city"}),
        ("dat dai", {"database:hcm-dat-dai"}),
        ("hcm-1022", {"system:hcm-1022"}),
        ("1022", {"system:hcm-1022"}),
        ("tong dai", {"system:hcm-1022"}),
        ("xyzzy", set()),
        ("so xyzzy", set()),  # every word must match
    ],
)
def test_search_is_diacritics_and_case_insensitive(named: CatalogStore, text: str, expected: set[str]) -> None:
    assert refs(named.search(text)) == expected


def test_search_with_decomposed_input_finds_composed_names(named: CatalogStore) -> None:
    nfd = unicodedata.normalize("NFD", "Sở Thông tin")
    assert nfd != "Sở Thông tin"
    assert refs(named.search(nfd)) == {"organization:hcm-stttt"}
    assert refs(named.search(unicodedata.normalize("NFD", "Đà Nẵng"))) == {"organization:dn-city"}


def test_decomposed_name_is_stored_composed_and_found(store: CatalogStore, ctx: WriteContext, ent) -> None:
    store.create_entity(ent("organization:hue", unicodedata.normalize("NFD", "Thừa Thiên Huế")), ctx)
    assert store.get_entity("organization:hue").name.vi == "Thừa Thiên Huế"
    assert refs(store.search("Thừa Thiên Huế")) == {"organization:hue"}
    assert refs(store.search("thua thien hue")) == {"organization:hue"}


def test_search_no_match_kind_and_limit(named: CatalogStore) -> None:
    assert named.search("không có gì như thế") == []
    assert named.search("") == []
    assert named.search("   ") == []
    assert refs(named.search("thanh pho", kind="organization")) == {"organization:dn-city", "organization:hn-city"}
    assert named.search("thanh pho", kind="system") == []
    assert len(named.search("thanh pho", limit=1)) == 1


def test_search_phrase_keeps_only_the_words_side_by_side(named: CatalogStore) -> None:
    # every word is in the name, but not side by side: the wider tier finds it, the phrase tier does not
    assert refs(named.search("so truyen thong")) == {"organization:hcm-stttt"}
    assert named.search("so truyen thong", phrase=True) == []
    assert refs(named.search("Sở Thông tin và Truyền thông", phrase=True)) == {"organization:hcm-stttt"}
    assert refs(named.search("thanh pho", phrase=True)) == {"organization:dn-city", "organization:hn-city"}
    assert refs(named.search("thanh pho da", phrase=True)) == {"organization:dn-city"}  # the last word a prefix
    assert refs(named.search("tong dai 1022", phrase=True, kind="system")) == {"system:hcm-1022"}
    assert named.search("tong dai 1022", phrase=True, kind="organization") == []


def test_search_follows_updates_and_deletes(named: CatalogStore, ctx: WriteContext) -> None:
    e = named.get_entity("organization:hcm-stc")
    named.update_entity(renamed(e, "Sở Kế hoạch và Đầu tư"), e.version, ctx)
    assert named.search("tai chinh") == []
    assert refs(named.search("ke hoach dau tu")) == {"organization:hcm-stc"}
    named.delete_entity("organization:hcm-stc", e.version + 1, ctx)
    assert named.search("ke hoach") == []


# --- neighbourhood --------------------------------------------------------------------------------------------------


def build_graph(store: CatalogStore, ctx: WriteContext, ent, rl) -> CatalogStore:
    """hr -reads-> dan-cu -exposes-> api <-consumes- portal -feeds-> ioc;  api -published_on-> lgsp -fed-> ndxp."""
    for ref in (
        "system:portal",
        "system:hr",
        "service:api",
        "database:dan-cu",
        "platform:lgsp",
        "platform:ndxp",
        "platform:ioc",
        "system:alone",
    ):
        store.create_entity(ent(ref), ctx)
    for r in (
        rl("consumes", "system:portal", "service:api"),
        rl("published_on", "service:api", "platform:lgsp"),
        rl("exposes", "database:dan-cu", "service:api"),
        rl("feeds", "system:portal", "platform:ioc"),
        rl("federates_with", "platform:lgsp", "platform:ndxp"),
        rl("reads", "system:hr", "database:dan-cu"),
    ):
        store.create_relationship(r, ctx)
    return store


@pytest.fixture
def graph(store: CatalogStore, ctx: WriteContext, ent, rl) -> CatalogStore:
    return build_graph(store, ctx, ent, rl)


CONSUMES = "system:portal>consumes>service:api"
PUBLISHED = "service:api>published_on>platform:lgsp"
EXPOSES = "database:dan-cu>exposes>service:api"
FEEDS = "system:portal>feeds>platform:ioc"
FEDERATES = "platform:lgsp>federates_with>platform:ndxp"
READS = "system:hr>reads>database:dan-cu"


def test_neighbourhood_depth_one_both(graph: CatalogStore) -> None:
    sub = graph.neighbourhood("service:api")
    assert sub.depth == {"service:api": 0, "system:portal": 1, "platform:lgsp": 1, "database:dan-cu": 1}
    assert refs(sub.entities) == set(sub.depth)
    assert ids(sub.relationships) == {CONSUMES, PUBLISHED, EXPOSES}


def test_neighbourhood_depth_two_both(graph: CatalogStore) -> None:
    sub = graph.neighbourhood("service:api", depth=2)
    assert sub.depth == {
        "service:api": 0,
        "system:portal": 1,
        "platform:lgsp": 1,
        "database:dan-cu": 1,
        "platform:ioc": 2,
        "platform:ndxp": 2,
        "system:hr": 2,
    }
    assert refs(sub.entities) == set(sub.depth)
    assert ids(sub.relationships) == {CONSUMES, PUBLISHED, EXPOSES, FEEDS, FEDERATES, READS}


def test_neighbourhood_direction(graph: CatalogStore) -> None:
    out = graph.neighbourhood("service:api", depth=2, direction="out")
    assert out.depth == {"service:api": 0, "platform:lgsp": 1, "platform:ndxp": 2}
    assert ids(out.relationships) == {PUBLISHED, FEDERATES}

    inn = graph.neighbourhood("service:api", depth=2, direction="in")
    assert inn.depth == {"service:api": 0, "system:portal": 1, "database:dan-cu": 1, "system:hr": 2}
    assert ids(inn.relationships) == {CONSUMES, EXPOSES, READS}

    assert graph.neighbourhood("platform:ndxp", direction="out").depth == {"platform:ndxp": 0}


def test_neighbourhood_types_filter(graph: CatalogStore) -> None:
    sub = graph.neighbourhood("service:api", depth=3, types=("published_on", "federates_with"))
    assert sub.depth == {"service:api": 0, "platform:lgsp": 1, "platform:ndxp": 2}
    assert ids(sub.relationships) == {PUBLISHED, FEDERATES}
    sub = graph.neighbourhood("system:hr", depth=5, types=("reads", "exposes", "consumes"))
    assert sub.depth == {"system:hr": 0, "database:dan-cu": 1, "service:api": 2, "system:portal": 3}
    assert ids(sub.relationships) == {READS, EXPOSES, CONSUMES}


def test_neighbourhood_hop_distance_is_shortest(graph: CatalogStore, ctx: WriteContext, rl) -> None:
    graph.create_relationship(rl("reads", "system:portal", "database:dan-cu"), ctx)  # a shortcut portal -> dan-cu
    sub = graph.neighbourhood("system:hr", depth=3)
    assert sub.depth == {
        "system:hr": 0,
        "database:dan-cu": 1,
        "service:api": 2,
        "system:portal": 2,
        "platform:lgsp": 3,
        "platform:ioc": 3,
    }


def test_neighbourhood_of_isolated_and_missing(graph: CatalogStore) -> None:
    sub = graph.neighbourhood("system:alone", depth=3)
    assert (sub.depth, refs(sub.entities), sub.relationships) == ({"system:alone": 0}, {"system:alone"}, [])
    with pytest.raises(NotFound):
        graph.neighbourhood("system:ghost")


# --- referential integrity ------------------------------------------------------------------------------------------


def test_relationship_endpoints_must_exist(store: CatalogStore, ctx: WriteContext, ent, rl) -> None:
    store.create_entity(ent("system:a"), ctx)
    rev = store.revision()
    with pytest.raises(IntegrityError):
        store.create_relationship(rl("reads", "system:a", "database:missing"), ctx)
    with pytest.raises(IntegrityError):
        store.create_relationship(rl("reads", "system:missing", "database:missing"), ctx)
    with pytest.raises(IntegrityError):
        store.create_relationship(rl("flows_to", "system:missing", "system:a"), ctx)
    assert store.count_relationships() == 0
    assert store.revision() == rev


def test_delete_of_used_entity_needs_cascade(store: CatalogStore, ctx: WriteContext, ent, rl) -> None:
    for ref in ("system:a", "system:b", "database:d"):
        store.create_entity(ent(ref), ctx)
    store.create_relationship(rl("reads", "system:a", "database:d"), ctx)
    store.create_relationship(rl("writes", "system:b", "database:d"), ctx)
    store.create_relationship(rl("flows_to", "system:a", "system:b"), ctx)
    rev = store.revision()

    with pytest.raises(IntegrityError):
        store.delete_entity("database:d", 1, ctx)
    assert store.find_entity("database:d") is not None
    assert store.count_relationships() == 3
    assert store.revision() == rev

    cascade_ctx = WriteContext(actor="admin", request_id="req-cascade")
    store.delete_entity("database:d", 1, cascade_ctx, cascade=True)
    assert store.find_entity("database:d") is None
    assert ids(store.list_relationships()) == {"system:a>flows_to>system:b"}
    logged = store.changelog(after_seq=rev[0])
    assert {(c.op, c.ref, c.after) for c in logged} == {
        ("delete", "rel:system:a>reads>database:d", None),
        ("delete", "rel:system:b>writes>database:d", None),
        ("delete", "database:d", None),
    }
    assert {(c.actor, c.request_id) for c in logged} == {("admin", "req-cascade")}
    assert logged[-1].ref == "database:d"  # the relationships go first, then the entity
    assert store.verify_log().ok


# --- optimistic concurrency -----------------------------------------------------------------------------------------


def test_stale_update_is_a_conflict_and_changes_nothing(store: CatalogStore, ctx: WriteContext, ent) -> None:
    v1 = store.create_entity(ent("system:a", "Một"), ctx)
    store.update_entity(renamed(v1, "Hai"), 1, ctx)
    rev = store.revision()
    with pytest.raises(Conflict) as exc:
        store.update_entity(renamed(v1, "Ba"), 1, ctx)  # written by someone who read version 1
    assert (exc.value.expected, exc.value.actual) == (1, 2)
    now = store.get_entity("system:a")
    assert (now.version, now.name.vi) == (2, "Hai")
    assert store.revision() == rev
    with pytest.raises(Conflict):
        store.update_entity(renamed(v1, "Ba"), 3, ctx)  # from the future is as wrong as from the past


def test_stale_delete_is_a_conflict_and_changes_nothing(store: CatalogStore, ctx: WriteContext, ent) -> None:
    v1 = store.create_entity(ent("system:a", "Một"), ctx)
    store.update_entity(renamed(v1, "Hai"), 1, ctx)
    rev = store.revision()
    with pytest.raises(Conflict):
        store.delete_entity("system:a", 1, ctx)
    assert store.get_entity("system:a").version == 2
    assert store.revision() == rev
    store.delete_entity("system:a", 2, ctx)
    assert store.find_entity("system:a") is None


def test_stale_relationship_writes_are_conflicts(store: CatalogStore, ctx: WriteContext, ent, rl) -> None:
    store.create_entity(ent("system:a"), ctx)
    store.create_entity(ent("database:d"), ctx)
    r1 = store.create_relationship(rl("reads", "system:a", "database:d", frequency="daily"), ctx)
    store.update_relationship(r1.model_copy(update={"properties": {"frequency": "hourly"}}), 1, ctx)
    rev = store.revision()
    with pytest.raises(Conflict):
        store.update_relationship(r1.model_copy(update={"properties": {"frequency": "weekly"}}), 1, ctx)
    with pytest.raises(Conflict):
        store.delete_relationship(r1.id, 1, ctx)
    now = store.find_relationship(r1.id)
    assert (now.version, now.properties) == (2, {"frequency": "hourly"})
    assert store.revision() == rev


# --- change log -----------------------------------------------------------------------------------------------------


def test_every_write_appends_one_exact_entry(store: CatalogStore, ent, rl) -> None:
    def c(n: int) -> WriteContext:
        return WriteContext(actor=f"user{n}", request_id=f"req-{n}")

    seen: list[tuple] = []

    def check(expected: list[tuple], n: int) -> None:
        got = store.changelog(after_seq=len(seen))
        assert [(e.actor, e.request_id, e.op, e.ref, e.before, e.after) for e in got] == [
            (f"user{n}", f"req-{n}", *x) for x in expected
        ]
        assert [e.seq for e in got] == list(range(len(seen) + 1, len(seen) + 1 + len(got)))
        seen.extend(got)

    a = store.create_entity(ent("system:a", "Một"), c(1))
    check([("create", "system:a", None, a.content())], 1)
    a2 = store.update_entity(renamed(a, "Hai"), 1, c(2))
    check([("update", "system:a", a.content(), a2.content())], 2)
    d = store.create_entity(ent("database:d"), c(3))
    check([("create", "database:d", None, d.content())], 3)
    r = store.create_relationship(rl("reads", "system:a", "database:d"), c(4))
    check([("create", "rel:system:a>reads>database:d", None, r.content())], 4)
    r2 = store.update_relationship(r.model_copy(update={"properties": {"protocol": "rest"}}), 1, c(5))
    check([("update", "rel:system:a>reads>database:d", r.content(), r2.content())], 5)
    assert r2.content()["properties"] == {"protocol": "rest"}
    store.delete_relationship(r.id, 2, c(6))
    check([("delete", "rel:system:a>reads>database:d", r2.content(), None)], 6)
    ev = store.record_event(OrgEvent(id="ev-1", type="rename", date=dt.date(2025, 7, 1), to=["organization:x"]), c(7))
    check([("create", "event:ev-1", None, ev.content())], 7)
    store.delete_entity("system:a", 2, c(8))
    check([("delete", "system:a", a2.content(), None)], 8)
    assert a2.content()["name"]["vi"] == "Hai"
    assert all(e.time for e in seen)
    assert [e.time for e in seen] == sorted(e.time for e in seen)


def test_changelog_filters(store: CatalogStore, ent) -> None:
    store.create_entity(ent("system:a"), WriteContext(actor="alice", request_id="r1"))
    store.create_entity(ent("system:b"), WriteContext(actor="bob", request_id="r2"))
    a = store.get_entity("system:a")
    store.update_entity(renamed(a, "A"), 1, WriteContext(actor="bob", request_id="r3"))
    assert [(e.op, e.ref) for e in store.changelog(ref="system:a")] == [("create", "system:a"), ("update", "system:a")]
    assert [e.request_id for e in store.changelog(actor="bob")] == ["r2", "r3"]
    assert [e.seq for e in store.changelog(limit=2)] == [1, 2]
    assert [e.seq for e in store.changelog(after_seq=1)] == [2, 3]


def test_changelog_without_bodies_is_the_same_entries_without_before_and_after(store: CatalogStore, ent) -> None:
    store.create_entity(ent("system:a"), WriteContext(actor="alice"))
    store.update_entity(renamed(store.get_entity("system:a"), "A"), 1, WriteContext(actor="bob"))
    full, heads = store.changelog(), store.changelog(bodies=False)
    assert [e.after for e in full] == [ent("system:a").content(), renamed(ent("system:a"), "A").content()]
    assert [(e.before, e.after) for e in heads] == [(None, None), (None, None)]
    assert [e.model_copy(update={"before": None, "after": None}) for e in full] == heads
    assert [e.seq for e in store.changelog(after_seq=1, limit=1, bodies=False)] == [2]


def test_changelog_by_request_id(store: CatalogStore, ent) -> None:
    """Every entry one request wrote (an import run, an approved draft, a revert), and only those."""
    run = WriteContext(actor="alice", request_id="run-1")
    with store.transaction(run):
        store.create_entity(ent("system:a"), run)
        store.create_entity(ent("system:b"), run)
    store.create_entity(ent("system:c"), WriteContext(actor="bob", request_id="other"))
    store.update_entity(renamed(store.get_entity("system:a"), "A"), 1, run)
    assert [(e.seq, e.ref) for e in store.changelog(request_id="run-1")] == [
        (1, "system:a"),
        (2, "system:b"),
        (4, "system:a"),
    ]
    assert [e.ref for e in store.changelog(request_id="run-1", after_seq=1, limit=1)] == ["system:b"]
    assert [e.ref for e in store.changelog(request_id="other")] == ["system:c"]
    assert store.changelog(request_id="nothing") == []


def test_verify_log_on_fresh_store(store: CatalogStore) -> None:
    result = store.verify_log()
    assert (result.ok, result.checked, result.bad_seq) == (True, 0, None)
    assert result.head == store.revision()[1]


def test_verify_log_on_busy_store(graph: CatalogStore, ctx: WriteContext, ent) -> None:
    for i in range(20):
        e = graph.create_entity(ent(f"system:busy-{i}"), ctx)
        graph.update_entity(renamed(e, f"Bận {i}"), 1, ctx)
    graph.delete_entity("platform:ioc", 1, ctx, cascade=True)
    result = graph.verify_log()
    seq, head = graph.revision()
    assert (result.ok, result.checked, result.head) == (True, seq, head)
    assert seq == 8 + 6 + 40 + 2
    entries = graph.changelog()
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]


def test_revision_changes_after_every_write(store: CatalogStore, ctx: WriteContext, ent, rl) -> None:
    revs = [store.revision()]

    def wrote() -> None:
        revs.append(store.revision())
        assert revs[-1] != revs[-2]
        assert revs[-1][0] > revs[-2][0]

    a = store.create_entity(ent("system:a"), ctx)
    wrote()
    store.create_entity(ent("database:d"), ctx)
    wrote()
    store.update_entity(renamed(a, "x"), 1, ctx)
    wrote()
    r = store.create_relationship(rl("reads", "system:a", "database:d"), ctx)
    wrote()
    store.update_relationship(r, 1, ctx)
    wrote()
    store.record_event(OrgEvent(id="e1", type="create", date=dt.date(2025, 1, 1)), ctx)
    wrote()
    store.bulk_load(BulkLoad(source="s", run="1", entities=[ent("system:b")]), ctx)
    wrote()
    store.delete_entity("system:a", 2, ctx, cascade=True)
    wrote()
    assert len(set(revs)) == len(revs)
    # reads do not move it
    store.list_entities()
    store.search("a")
    store.verify_log()
    assert store.revision() == revs[-1]


# --- as-of reads ----------------------------------------------------------------------------------------------------


def test_entity_as_of(store: CatalogStore, ctx: WriteContext, clock, ent) -> None:
    clock.set(at(9))
    e = store.create_entity(ent("system:a", "Bản đầu", criticality="low"), ctx)
    clock.set(at(10))
    e = store.update_entity(
        e.model_copy(
            update={
                "name": LocalText(vi="Bản giữa", en="middle"),
                "attributes": {**e.attributes, "criticality": "high"},
            }
        ),
        1,
        ctx,
    )
    clock.set(at(11))
    e = store.update_entity(renamed(e, "Bản cuối"), 2, ctx)
    clock.set(at(12))
    store.delete_entity("system:a", 3, ctx)

    assert store.entity_as_of("system:a", at(8)) is None
    first = store.entity_as_of("system:a", at(9, 30))
    assert (first.name.vi, first.attributes["criticality"]) == ("Bản đầu", "low")
    middle = store.entity_as_of("system:a", at(10, 30))
    assert (middle.name.vi, middle.name.en, middle.attributes) == (
        "Bản giữa",
        "middle",
        {"criticality": "high", "lifecycle": "production"},
    )
    assert store.entity_as_of("system:a", at(11, 30)).name.vi == "Bản cuối"
    assert store.entity_as_of("system:a", at(12, 30)) is None
    assert store.entity_as_of("system:a", "2025-03-01T10:30:00Z").name.vi == "Bản giữa"
    assert store.entity_as_of("system:a", dt.date(2025, 2, 28)) is None
    assert store.entity_as_of("system:never", at(11)) is None


def test_graph_as_of_three_instants(store: CatalogStore, ctx: WriteContext, clock, ent, rl) -> None:
    clock.set(at(9))
    store.create_entity(ent("organization:q1", "Quận 1"), ctx)
    store.create_entity(ent("system:a", "Hệ thống A"), ctx)
    store.create_entity(ent("database:d", "CSDL D"), ctx)
    store.create_relationship(rl("reads", "system:a", "database:d"), ctx)
    t1 = at(9, 30)

    clock.set(at(10))
    store.create_entity(ent("system:b", "Hệ thống B"), ctx)
    store.create_relationship(rl("writes", "system:b", "database:d"), ctx)
    a = store.get_entity("system:a")
    store.update_entity(renamed(a, "Hệ thống A mới"), 1, ctx)
    t2 = at(10, 30)

    clock.set(at(11))
    store.delete_entity("database:d", 1, ctx, cascade=True)
    store.record_event(
        OrgEvent(id="q1-merge", type="merge", date=dt.date(2025, 7, 1), **{"from": ["organization:q1"]}), ctx
    )
    store.create_relationship(rl("flows_to", "system:a", "system:b"), ctx)
    t3 = at(11, 30)

    def shape(when: dt.datetime) -> tuple[dict[str, str], set[str]]:
        g = store.graph_as_of(when)
        return {ref: e.name.vi for ref, e in g.entities.items()}, ids(g.relationships)

    assert shape(at(8)) == ({}, set())
    assert shape(t1) == (
        {"organization:q1": "Quận 1", "system:a": "Hệ thống A", "database:d": "CSDL D"},
        {"system:a>reads>database:d"},
    )
    assert shape(t2) == (
        {"organization:q1": "Quận 1", "system:a": "Hệ thống A mới", "database:d": "CSDL D", "system:b": "Hệ thống B"},
        {"system:a>reads>database:d", "system:b>writes>database:d"},
    )
    assert shape(t3) == (
        {"organization:q1": "Quận 1", "system:a": "Hệ thống A mới", "system:b": "Hệ thống B"},
        {"system:a>flows_to>system:b"},
    )
    now = store.graph_as_of(dt.datetime.now(UTC) + dt.timedelta(days=3650))
    assert refs(now.entities) == refs(store.list_entities())
    assert ids(now.relationships) == ids(store.list_relationships())


# --- bulk load ------------------------------------------------------------------------------------------------------


def _import(ent, rl, names: dict[str, str] | None = None) -> tuple[list[Entity], list[Relationship]]:
    names = {
        "organization:stttt": "Sở TT&TT",
        "system:portal": "Cổng",
        "database:dan-cu": "CSDL dân cư",
        **(names or {}),
    }
    entities = [ent(ref, name) for ref, name in names.items()]
    rels = [rl("reads", "system:portal", "database:dan-cu")]
    return entities, rels


def test_bulk_load_counts_and_provenance(store: CatalogStore, ctx: WriteContext, ent, rl) -> None:
    store.create_entity(ent("system:portal", "Cổng cũ"), ctx)  # exists before the import, with other content
    store.create_entity(ent("organization:stttt", "Sở TT&TT"), ctx)  # exists with the same content
    entities, rels = _import(ent, rl)
    calls: list[tuple[int, int]] = []
    res = store.bulk_load(
        BulkLoad(source="excel:a.xlsx", run="run-1", entities=entities, relationships=rels),
        ctx,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert (res.created, res.updated, res.unchanged, res.removed) == (
        {"database": 1, "relationship": 1},
        {"system": 1},
        {"organization": 1},
        {},
    )
    assert res.total_changes == 3
    assert set(res.changed_refs) == {"database:dan-cu", "system:portal", "rel:system:portal>reads>database:dan-cu"}
    assert calls[-1] == (4, 4)

    prov = Provenance(source="excel:a.xlsx", run="run-1")
    assert store.get_entity("database:dan-cu").provenance == prov
    assert store.get_entity("system:portal").provenance == prov
    assert store.get_entity("system:portal").name.vi == "Cổng"
    assert store.search("cong cu") == []  # the search index follows a bulk update
    assert refs(store.search("cong")) == {"system:portal"}
    assert store.get_entity("system:portal").version == 2
    assert store.find_relationship("system:portal>reads>database:dan-cu").provenance == prov
    logged = store.changelog(after_seq=2)
    assert {(e.op, e.ref, e.actor, e.request_id) for e in logged} == {
        ("create", "database:dan-cu", "tester", "req-test"),
        ("update", "system:portal", "tester", "req-test"),
        ("create", "rel:system:portal>reads>database:dan-cu", "tester", "req-test"),
    }
    assert all(e.after["provenance"] == prov.model_dump() for e in logged)
    assert store.verify_log().ok


def test_bulk_load_stamps_provenance_on_every_created_fact(store: CatalogStore, ctx: WriteContext, ent, rl) -> None:
    entities, rels = _import(ent, rl)
    store.bulk_load(BulkLoad(source="excel:a.xlsx", run="run-1", entities=entities, relationships=rels), ctx)
    prov = Provenance(source="excel:a.xlsx", run="run-1")
    assert {e.ref: e.provenance for e in store.list_entities()} == {e.ref: prov for e in entities}
    assert {r.id: r.provenance for r in store.list_relationships()} == {r.id: prov for r in rels}
    assert refs(store.list_entities(EntityFilter(source="excel:a.xlsx"))) == refs(entities)


def test_second_identical_load_changes_nothing(store: CatalogStore, ctx: WriteContext, ent, rl) -> None:
    entities, rels = _import(ent, rl)
    first = store.bulk_load(BulkLoad(source="s", run="1", entities=entities, relationships=rels), ctx)
    assert first.created == {"organization": 1, "system": 1, "database": 1, "relationship": 1}
    rev = store.revision()
    second = store.bulk_load(BulkLoad(source="s", run="2", entities=entities, relationships=rels), ctx)
    assert second.total_changes == 0
    assert (second.created, second.updated, second.removed, second.changed_refs) == ({}, {}, {}, [])
    assert second.unchanged == {"organization": 1, "system": 1, "database": 1, "relationship": 1}
    assert store.revision() == rev
    assert {e.version for e in store.list_entities()} == {1}


def test_dry_run_reports_the_same_and_writes_nothing(store: CatalogStore, ctx: WriteContext, ent, rl) -> None:
    store.create_entity(ent("system:portal", "Cổng cũ"), ctx)
    entities, rels = _import(ent, rl)
    rev, count = store.revision(), store.count_entities()
    load = BulkLoad(source="s", run="1", entities=entities, relationships=rels)
    dry = store.bulk_load(load, ctx, dry_run=True)
    assert store.revision() == rev
    assert store.count_entities() == count
    assert store.count_relationships() == 0
    assert store.get_entity("system:portal").name.vi == "Cổng cũ"
    real = store.bulk_load(load, ctx)
    assert (dry.created, dry.updated, dry.unchanged, dry.removed) == (
        real.created,
        real.updated,
        real.unchanged,
        real.removed,
    )
    assert sorted(dry.changed_refs) == sorted(real.changed_refs)
    assert dry.created == {"organization": 1, "database": 1, "relationship": 1}


def test_load_with_dangling_relationship_is_refused_whole(store: CatalogStore, ctx: WriteContext, ent, rl) -> None:
    store.create_entity(ent("system:keep", "Giữ"), ctx)
    entities, rels = _import(ent, rl, {"system:keep": "Đổi tên"})
    rels.append(rl("writes", "system:portal", "database:missing"))
    rev, count = store.revision(), store.count_entities()
    with pytest.raises(IntegrityError) as exc:
        store.bulk_load(BulkLoad(source="s", run="1", entities=entities, relationships=rels), ctx)
    assert "database:missing" in str(exc.value)
    assert store.revision() == rev
    assert (store.count_entities(), store.count_relationships()) == (count, 0)
    assert store.get_entity("system:keep").name.vi == "Giữ"
    assert store.verify_log().ok
    with pytest.raises(IntegrityError):
        store.bulk_load(BulkLoad(source="s", run="1", entities=entities, relationships=rels), ctx, dry_run=True)
    assert store.revision() == rev


def test_bulk_load_relationship_to_existing_entity(store: CatalogStore, ctx: WriteContext, ent, rl) -> None:
    store.create_entity(ent("platform:lgsp", "LGSP"), ctx)
    res = store.bulk_load(
        BulkLoad(
            source="s",
            run="1",
            entities=[ent("system:a")],
            relationships=[rl("hosted_on", "system:a", "platform:lgsp")],
        ),
        ctx,
    )
    assert res.created == {"system": 1, "relationship": 1}
    assert store.get_entity("platform:lgsp").provenance is None


def test_cleanup_removes_only_this_sources_stale_facts(store: CatalogStore, ctx: WriteContext, ent, rl) -> None:
    first = [ent("system:a"), ent("system:b"), ent("database:d")]
    store.bulk_load(
        BulkLoad(
            source="excel:a",
            run="1",
            entities=first,
            relationships=[rl("reads", "system:a", "database:d"), rl("reads", "system:b", "database:d")],
        ),
        ctx,
    )
    store.bulk_load(BulkLoad(source="excel:other", run="1", entities=[ent("system:other")]), ctx)
    store.create_entity(ent("system:manual", "Nhập tay"), ctx)
    store.create_relationship(rl("reads", "system:manual", "database:d"), ctx)

    res = store.bulk_load(
        BulkLoad(
            source="excel:a",
            run="2",
            entities=[ent("system:a"), ent("database:d")],
            relationships=[rl("reads", "system:a", "database:d")],
            cleanup=True,
        ),
        ctx,
    )
    assert res.removed == {"system": 1, "relationship": 1}
    assert set(res.changed_refs) == {"system:b", "rel:system:b>reads>database:d"}
    assert refs(store.list_entities()) == {"system:a", "database:d", "system:other", "system:manual"}
    assert ids(store.list_relationships()) == {"system:a>reads>database:d", "system:manual>reads>database:d"}
    assert store.get_entity("system:manual").provenance is None
    assert refs(store.list_entities(EntityFilter(tag=None, source="excel:a"))) == {"system:a", "database:d"}
    assert "system:b" not in refs(store.search("system"))
    assert {(e.op, e.ref) for e in store.changelog(ref="system:b")} == {("create", "system:b"), ("delete", "system:b")}
    assert store.verify_log().ok


def test_cleanup_refuses_while_a_hand_made_relationship_uses_a_stale_entity(
    store: CatalogStore, ctx: WriteContext, ent, rl
) -> None:
    store.bulk_load(BulkLoad(source="excel:a", run="1", entities=[ent("system:a"), ent("database:old")]), ctx)
    store.create_entity(ent("system:manual"), ctx)
    store.create_relationship(rl("reads", "system:manual", "database:old"), ctx)
    rev, count = store.revision(), store.count_entities()
    with pytest.raises(IntegrityError) as exc:
        store.bulk_load(BulkLoad(source="excel:a", run="2", entities=[ent("system:a", "Đổi")], cleanup=True), ctx)
    assert "database:old" in str(exc.value)
    assert store.revision() == rev
    assert store.count_entities() == count
    assert store.get_entity("system:a").name.vi == "system:a"
    assert store.find_relationship("system:manual>reads>database:old") is not None


def test_cleanup_refuses_when_the_load_itself_links_to_an_entity_it_would_remove(
    store: CatalogStore, ctx: WriteContext, ent, rl
) -> None:
    store.bulk_load(BulkLoad(source="excel:a", run="1", entities=[ent("system:a"), ent("database:old")]), ctx)
    rev = store.revision()
    with pytest.raises(IntegrityError) as exc:  # database:old is no longer in the file, yet the file links to it
        store.bulk_load(
            BulkLoad(
                source="excel:a",
                run="2",
                entities=[ent("system:a")],
                relationships=[rl("reads", "system:a", "database:old")],
                cleanup=True,
            ),
            ctx,
        )
    assert "database:old" in str(exc.value)
    assert store.revision() == rev and store.list_relationships() == []


# --- organisation events --------------------------------------------------------------------------------------------


def test_record_and_list_events(store: CatalogStore, ctx: WriteContext) -> None:
    merge = OrgEvent(
        id="hcm-2025-merge",
        type="merge",
        date=dt.date(2025, 7, 1),
        legal_basis="NQ 1685/NQ-UBTVQH15",
        **{"from": ["organization:bd", "organization:brvt"]},
        to=["organization:hcm"],
    )
    split = OrgEvent(
        id="split-1",
        type="split",
        date=dt.date(2024, 1, 1),
        **{"from": ["organization:x"]},
        to=["organization:y", "organization:z"],
    )
    rename = OrgEvent(
        id="rename-hcm",
        type="rename",
        date=dt.date(2025, 8, 1),
        to=["organization:hcm"],
        new_name=LocalText(vi="TP. Hồ Chí Minh", en="Ho Chi Minh City"),
    )
    for ev in (merge, split, rename):
        assert store.record_event(ev, ctx).version == 1

    assert [e.id for e in store.list_events()] == ["split-1", "hcm-2025-merge", "rename-hcm"]  # by date
    assert [e.id for e in store.list_events(org="organization:hcm")] == ["hcm-2025-merge", "rename-hcm"]
    assert [e.id for e in store.list_events(org="organization:bd")] == ["hcm-2025-merge"]
    assert [e.id for e in store.list_events(org="organization:z")] == ["split-1"]
    assert store.list_events(org="organization:nobody") == []
    stored = store.list_events(org="organization:brvt")[0]
    assert stored.content() == merge.content()

    again = store.record_event(merge.model_copy(update={"legal_basis": "NQ 202/2025/QH15"}), ctx)
    assert again.version == 2
    assert [e.legal_basis for e in store.list_events(org="organization:bd")] == ["NQ 202/2025/QH15"]
    last = store.changelog(ref="event:hcm-2025-merge")
    assert [(e.op, e.before and e.before["legal_basis"], e.after["legal_basis"]) for e in last] == [
        ("create", None, "NQ 1685/NQ-UBTVQH15"),
        ("update", "NQ 1685/NQ-UBTVQH15", "NQ 202/2025/QH15"),
    ]


# --- transactions ---------------------------------------------------------------------------------------------------


def test_transaction_commits_every_write_together(store: CatalogStore, ctx: WriteContext, ent, rl) -> None:
    with store.transaction(ctx):
        store.create_entity(ent("system:a"), ctx)
        store.create_entity(ent("database:d"), ctx)
        store.create_relationship(rl("reads", "system:a", "database:d"), ctx)
    assert refs(store.list_entities()) == {"system:a", "database:d"}
    assert store.count_relationships() == 1
    assert [e.ref for e in store.changelog()] == ["system:a", "database:d", "rel:system:a>reads>database:d"]
    assert store.verify_log().ok


class Boom(Exception):
    pass


def test_exception_in_transaction_rolls_back_everything(store: CatalogStore, ctx: WriteContext, ent) -> None:
    a = store.create_entity(ent("system:a", "Trước"), ctx)
    rev = store.revision()
    with pytest.raises(Boom):
        with store.transaction(ctx):
            store.update_entity(renamed(a, "Sau"), 1, ctx)
            store.create_entity(ent("system:b"), ctx)
            raise Boom
    assert store.get_entity("system:a").name.vi == "Trước"
    assert store.find_entity("system:b") is None
    assert store.revision() == rev
    assert len(store.changelog()) == 1
    assert store.search("sau") == []
    # the store is still usable and the chain continues from where it was
    store.create_entity(ent("system:c"), ctx)
    assert store.revision()[0] == rev[0] + 1
    assert store.verify_log().ok


def test_domain_error_in_transaction_rolls_back_earlier_writes(store: CatalogStore, ctx: WriteContext, ent) -> None:
    store.create_entity(ent("system:a"), ctx)
    rev = store.revision()
    with pytest.raises(AlreadyExists):
        with store.transaction(ctx):
            store.create_entity(ent("system:b"), ctx)
            store.create_entity(ent("system:a"), ctx)
    assert refs(store.list_entities()) == {"system:a"}
    assert store.revision() == rev


def test_refused_write_inside_a_transaction_leaves_nothing_behind(
    store: CatalogStore, ctx: WriteContext, ent, rl
) -> None:
    """A caller may catch a refused write and let the rest of its transaction commit: the refused write must not
    leave half of itself in that commit (a bulk load is all or nothing even inside a larger transaction)."""
    store.create_entity(ent("system:x"), ctx)
    rev = store.revision()
    with store.transaction(ctx):
        store.create_entity(ent("system:y"), ctx)
        with pytest.raises(IntegrityError):
            store.bulk_load(
                BulkLoad(
                    source="s",
                    run="1",
                    entities=[ent("system:a"), ent("database:d")],
                    relationships=[rl("reads", "system:a", "database:missing")],
                ),
                ctx,
            )
        with pytest.raises(AlreadyExists):
            store.create_entity(ent("system:x"), ctx)
        store.create_entity(ent("system:z"), ctx)
    assert refs(store.list_entities()) == {"system:x", "system:y", "system:z"}
    assert [(e.op, e.ref) for e in store.changelog(after_seq=rev[0])] == [
        ("create", "system:y"),
        ("create", "system:z"),
    ]
    assert store.revision()[0] == rev[0] + 2
    assert store.verify_log().ok


def test_load_that_names_a_fact_twice_is_refused(store: CatalogStore, ctx: WriteContext, ent, rl) -> None:
    store.create_entity(ent("system:x"), ctx)
    rev = store.revision()
    twice = BulkLoad(source="s", run="1", entities=[ent("system:a"), ent("system:b"), ent("system:a", "Lần hai")])
    with pytest.raises(ValidationFailed) as exc:
        store.bulk_load(twice, ctx)
    assert [(e.location, e.reason) for e in exc.value.errors] == [
        ("entities", "system:a appears more than once in this load")
    ]
    rels_twice = BulkLoad(
        source="s",
        run="1",
        entities=[ent("system:a"), ent("database:d")],
        relationships=[rl("reads", "system:a", "database:d"), rl("reads", "system:a", "database:d", protocol="rest")],
    )
    with pytest.raises(ValidationFailed):
        store.bulk_load(rels_twice, ctx, dry_run=True)
    with pytest.raises(ValidationFailed):
        store.bulk_load(rels_twice, ctx)
    assert store.revision() == rev
    assert refs(store.list_entities()) == {"system:x"}
