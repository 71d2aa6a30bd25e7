"""catalog.search on the sample catalog: the ranking (match, the asker's own province or city, current first), the
folding of both languages' text, and what each hit says to tell two entities of one name apart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SAMPLE

from catalog.errors import ValidationFailed
from catalog.permissions import Principal
from catalog.search import MATCHES, describe, parse_kinds, suggest
from catalog.store import open_store
from catalog.store.base import CatalogStore
from importers.base import run_import

HCMC_EDITOR = Principal("lan", "editor", "organization:hcm-skhcn")
HANOI_EDITOR = Principal("minh", "editor", "organization:hn-skhcn")
HUE_EDITOR = Principal("hoa", "editor", "organization:hue-skhcn")
ARCHITECT = Principal("an", "architect")  # no organisation: no own province


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogStore]:
    store = open_store(f"sqlite:///{Path(tmp_path_factory.mktemp('search')) / 'catalog.db'}")
    report = run_import(store, SAMPLE)
    assert report.loaded and not report.rejected
    yield store
    store.close()


def refs(hits: list) -> list[str]:
    return [h.ref for h in hits]


def test_so_thong_tin_puts_the_hcmc_department_first_for_an_hcmc_user(sample: CatalogStore) -> None:
    hits = suggest(sample, "so thong tin", principal=HCMC_EDITOR)
    first = hits[0]
    assert first.ref == "organization:hcm-sttt"
    assert first.match == "prefix" and not first.current  # merged on 1/3/2025 ...
    assert first.successor is not None and first.successor.ref == "organization:hcm-skhcn"  # ... into this one
    assert first.to_json("vi")["successor_name"] == "Sở Khoa học và Công nghệ TP.HCM"
    # every other province's department of the same name follows it, before any mere word match
    assert set(refs(hits[1:5])) == {
        "organization:bd-sttt",
        "organization:brvt-sttt",
        "organization:hn-sttt",
        "organization:hue-sttt",
    }
    assert [h.match for h in hits] == sorted((h.match for h in hits), key=MATCHES.index)


def test_the_own_province_decides_among_equal_matches(sample: CatalogStore) -> None:
    assert suggest(sample, "lgsp", principal=HCMC_EDITOR)[0].ref == "platform:hcm-lgsp"
    assert suggest(sample, "lgsp", principal=HANOI_EDITOR)[0].ref == "platform:hn-lgsp"
    assert suggest(sample, "lgsp", principal=HUE_EDITOR)[0].ref == "platform:hue-lgsp"
    # without an organisation nobody's province comes first: the index's order among equal matches
    plain = suggest(sample, "lgsp", principal=ARCHITECT)
    assert refs(plain) == refs(suggest(sample, "lgsp"))
    hanoi = suggest(sample, "so thong tin", principal=HANOI_EDITOR)
    assert hanoi[0].ref == "organization:hn-sttt"
    assert hanoi[0].province is not None and hanoi[0].province.ref == "organization:hn-ubnd"


def test_current_entities_come_before_retired_ones_of_the_same_match(sample: CatalogStore) -> None:
    hits = suggest(sample, "trung tam dieu hanh do thi thong minh", principal=HCMC_EDITOR)
    prefix = [h for h in hits if h.match in ("exact", "prefix")]
    currents = [h.current for h in prefix]
    assert currents == sorted(currents, reverse=True), "a retired entity ranks above a current one"
    retired = next(h for h in hits if h.ref == "platform:hcm-ioc-quan-1")
    assert not retired.current and retired.lifecycle == "retired"
    assert retired.lifecycle_label is not None and retired.lifecycle_label.get("vi") == "Ngừng hoạt động"


@pytest.mark.parametrize("typed", ["dan cu", "Dân cư", "DAN CU", "dân cư", "  Dân   Cư  ", "DÂN CƯ"])
def test_folding_finds_the_population_database_however_it_is_typed(sample: CatalogStore, typed: str) -> None:
    hits = suggest(sample, typed, principal=HCMC_EDITOR)
    assert hits[0].ref == "database:vn-csdl-dan-cu"
    assert hits[0].match == "phrase"  # "... về dân cư": the words in the name, not only in a description
    assert refs(hits) == refs(suggest(sample, "dan cu", principal=HCMC_EDITOR))
    only_databases = suggest(sample, typed, ["database"], principal=HCMC_EDITOR)
    assert only_databases[0].ref == "database:vn-csdl-dan-cu"
    assert {h.entity.kind for h in only_databases} == {"database"}


@pytest.mark.parametrize("typed", ["population database", "POPULATION", "Population Database"])
def test_english_names_are_searched_too(sample: CatalogStore, typed: str) -> None:
    hits = suggest(sample, typed)
    assert hits[0].ref == "database:vn-csdl-dan-cu"
    assert hits[0].to_json("en")["name"] == "National population database"


def test_two_iocs_of_one_name_are_told_apart(sample: CatalogStore) -> None:
    hits = {h.ref: h for h in suggest(sample, "trung tam dieu hanh", ["platform"], principal=ARCHITECT)}
    hcm, bd = hits["platform:hcm-ioc"], hits["platform:bd-ioc"]
    assert hcm.entity.name.vi == bd.entity.name.vi == "Trung tâm điều hành đô thị thông minh (IOC)"
    # both owned by the HCMC Department of Science and Technology today; Bình Dương's came from that province
    assert hcm.to_json("vi")["owner_name"] == bd.to_json("vi")["owner_name"] == "Sở Khoa học và Công nghệ TP.HCM"
    assert hcm.province is not None and hcm.province.ref == "organization:hcm-ubnd"
    assert hcm.former_province is None
    assert bd.former_province is not None and bd.former_province.ref == "organization:bd-ubnd"
    assert bd.to_json("vi")["former_province_name"] == "UBND tỉnh Bình Dương"
    assert bd.to_json("en")["former_province_name"] == "Bình Dương Provincial People's Committee"
    assert hcm.to_json("vi")["kind_label"] == "Nền tảng" and hcm.to_json("en")["kind_label"] == "Platform"


def test_national_bodies_have_no_province_and_an_exact_reference_comes_first(sample: CatalogStore) -> None:
    db = suggest(sample, "database:vn-csdl-dan-cu")[0]
    assert db.ref == "database:vn-csdl-dan-cu" and db.match == "exact"
    assert db.province is None and db.to_json("vi")["owner_name"] == "Bộ Công an"
    assert suggest(sample, "hcm-cong-1022")[0].ref == "system:hcm-cong-1022"  # a code, exactly


def test_bilingual_json_and_one_language(sample: CatalogStore) -> None:
    hit = suggest(sample, "cong thong tin 1022")[0]
    both, vi = hit.to_json(), hit.to_json("vi")
    assert both["name"] == {"vi": "Cổng thông tin 1022", "en": hit.entity.name.en}
    assert vi["name"] == "Cổng thông tin 1022" and vi["lifecycle_label"] == "Đang vận hành"
    assert both["lifecycle_label"] == {"vi": "Đang vận hành", "en": "In production"}
    assert set(both) == set(vi)


def test_limits_and_text_without_words(sample: CatalogStore) -> None:
    assert suggest(sample, "") == [] and suggest(sample, "  !!! ... ") == []
    assert len(suggest(sample, "he thong", limit=3)) == 3
    assert len(suggest(sample, "he thong", limit=10_000)) <= 200
    assert len(suggest(sample, "a" * 5000)) == 0  # cut to the longest query, finds nothing, never fails


def test_kinds_are_checked(sample: CatalogStore) -> None:
    assert parse_kinds(sample, "system, database,system") == ["system", "database"]
    assert parse_kinds(sample, "") == []
    with pytest.raises(ValidationFailed) as err:
        parse_kinds(sample, "system,spaceship")
    assert err.value.errors[0].location == "kind"


def test_describe_keeps_order_and_labels_organisations_by_status(sample: CatalogStore) -> None:
    es = list(sample.get_entities(["organization:hcm-sttt", "system:hcm-cong-1022"]).values())
    hits = describe(sample, es)
    assert refs(hits) == [e.ref for e in es]
    sttt = next(h for h in hits if h.ref == "organization:hcm-sttt")
    assert sttt.lifecycle == "merged" and sttt.lifecycle_label is not None and not sttt.current


def test_the_search_home_ranks_its_city_first_for_people_without_an_organisation(sample: CatalogStore) -> None:
    hits = suggest(sample, "so thong tin", principal=ARCHITECT, home="organization:hcm-ubnd")
    assert hits[0].ref == "organization:hcm-sttt"
    assert suggest(sample, "lgsp", home="organization:hue-skhcn")[0].ref == "platform:hue-lgsp"  # a unit's city
    # a department editor's own city wins over the home
    assert suggest(sample, "lgsp", principal=HANOI_EDITOR, home="organization:hcm-ubnd")[0].ref == "platform:hn-lgsp"
    # a home that names nothing known changes nothing
    assert refs(suggest(sample, "lgsp", home="organization:khong-co")) == refs(suggest(sample, "lgsp"))


def test_every_backend_ranks_the_same(store: CatalogStore, sample: CatalogStore) -> None:
    """The ranking is the catalog's, over each backend's own index (``store``: SQLite, and Neo4j when one runs)."""
    assert run_import(store, SAMPLE).loaded
    for text, who, kinds, first in (
        ("so thong tin", HCMC_EDITOR, (), "organization:hcm-sttt"),
        ("dan cu", HCMC_EDITOR, (), "database:vn-csdl-dan-cu"),  # in its name; the API service only in its code
        ("Dân cư", None, ("database",), "database:vn-csdl-dan-cu"),
        ("lgsp", HANOI_EDITOR, (), "platform:hn-lgsp"),
        ("trung tam dieu hanh", ARCHITECT, ("platform",), None),  # equals: each index's own order among them
    ):
        here = [(h.ref, h.match, h.current) for h in suggest(store, text, kinds, 50, who)]
        there = [(h.ref, h.match, h.current) for h in suggest(sample, text, kinds, 50, who)]
        if first:
            assert here[0][0] == there[0][0] == first, text
        close = ("exact", "prefix", "phrase")
        assert {x for x in here if x[1] in close} == {x for x in there if x[1] in close}, text


def test_the_citys_own_before_what_came_with_a_merger(sample: CatalogStore) -> None:
    """Both IOCs belong to HCMC since the 2025 merger; an HCMC officer typing "trung tam dieu hanh" gets HCMC's own
    IOC first and Bình Dương's next, still told apart by its former province."""
    found = refs(suggest(sample, "trung tam dieu hanh", ["platform"], principal=HCMC_EDITOR))
    assert found.index("platform:hcm-ioc") < found.index("platform:bd-ioc")
