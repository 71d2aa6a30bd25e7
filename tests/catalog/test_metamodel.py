"""The metamodel: one declaration, bilingual labels, custom attributes from configuration without code."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.errors import ValidationFailed
from catalog.metamodel import DEFAULT, RELATIONS, load_metamodel
from catalog.model import parse_entity, parse_relationship, validate_entity, validate_relationship
from catalog.settings import Settings
from catalog.text import fold, vi_sort_key


def test_every_kind_attribute_and_relation_has_both_labels() -> None:
    for spec in DEFAULT.kinds.values():
        assert spec.label.vi and spec.label.en and spec.plural.vi and spec.plural.en
        for a in spec.attributes:
            assert a.label.vi and a.label.en, (spec.name, a.name)
            assert a.type != "enum" or a.values
    for r in RELATIONS:
        assert r.label.vi and r.label.en
        assert set(r.sources) <= set(DEFAULT.kinds) and set(r.targets) <= set(DEFAULT.kinds)
    core = {"organization", "system", "database", "platform", "service", "dataset"}
    business = {"capability", "function", "process", "procedure", "actor", "node"}
    assert core | business <= set(DEFAULT.kinds)


def test_custom_attributes_from_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ext = tmp_path / "extensions.yaml"
    ext.write_text(
        "system:\n  funding_source:\n    type: enum\n    values: [state_budget, oda, ppp]\n"
        "    label: {vi: Nguồn vốn, en: Funding source}\n",
        encoding="utf-8",
    )
    data = {"ref": "system:x", "name": {"vi": "X"}, "attributes": {"lifecycle": "production", "funding_source": "oda"}}
    with pytest.raises(ValidationFailed, match="not an attribute of Information system"):
        validate_entity(parse_entity(data))
    monkeypatch.setenv("IOC_CATALOG_METAMODEL_EXTENSIONS", str(ext))
    mm = Settings().metamodel()
    assert mm.kind("system").attribute("funding_source").label.vi == "Nguồn vốn"
    assert validate_entity(parse_entity(data), mm).attributes["funding_source"] == "oda"
    with pytest.raises(ValidationFailed, match="must be one of: state_budget, oda, ppp"):
        validate_entity(parse_entity({**data, "attributes": {"lifecycle": "production", "funding_source": "x"}}), mm)


@pytest.mark.parametrize(
    "text,where",
    [
        ("spaceship:\n  a: {type: str}\n", "spaceship"),
        ("system:\n  lifecycle: {type: str}\n", "system.lifecycle"),
        ("system:\n  a: {type: colour}\n", "system.a"),
        ("system:\n  a: {type: enum}\n", "system.a"),
        ("- just a list\n", "must map kind names"),
    ],
)
def test_bad_extensions_name_the_place(tmp_path: Path, text: str, where: str) -> None:
    ext = tmp_path / "ext.yaml"
    ext.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed) as exc:
        load_metamodel(ext)
    assert where in str(exc.value)


def test_relationship_endpoints_follow_the_metamodel() -> None:
    ok = validate_relationship(
        parse_relationship(
            {"type": "feeds", "source": "system:cam", "target": "platform:ioc", "properties": {"protocol": "rest"}}
        )
    )
    assert ok.id == "system:cam>feeds>platform:ioc"
    with pytest.raises(ValidationFailed) as exc:
        validate_relationship(
            parse_relationship(
                {"type": "feeds", "source": "organization:a", "target": "database:b", "properties": {"speed": 1}}
            )
        )
    assert {e.location for e in exc.value.errors} == {"source", "target", "properties.speed"}


def test_a_relations_spec_says_where_data_flows_and_which_ends_it_allows() -> None:
    reads, writes, hosted = (DEFAULT.relations[n] for n in ("reads", "writes", "hosted_on"))
    assert reads.flow("system:a", "database:b") == ("database:b", "system:a")  # read: from the database
    assert writes.flow("system:a", "database:b") == ("system:a", "database:b")
    assert hosted.flow("system:a", "platform:b") is None  # carries no data
    assert reads.allows("service", "database") and not reads.allows("database", "service")
    # a relation the validation refuses is one the spec does not allow, and the reverse
    for spec in DEFAULT.relations.values():
        if spec.derived:
            continue
        for s in DEFAULT.kinds:
            for t in DEFAULT.kinds:
                data = {"type": spec.name, "source": f"{s}:a", "target": f"{t}:b"}
                try:
                    validate_relationship(parse_relationship(data))
                    ok = True
                except ValidationFailed:
                    ok = False
                assert ok == spec.allows(s, t), (spec.name, s, t)


def test_fold_makes_search_diacritics_insensitive() -> None:
    assert fold("Sở Thông tin và Truyền thông") == "so thong tin va truyen thong"
    assert fold("ĐÀ NẴNG") == fold("da nang") == fold("Đà Nẵng")
    import unicodedata

    assert fold(unicodedata.normalize("NFD", "Thừa Thiên Huế")) == "thua thien hue"


def test_vietnamese_collation() -> None:
    words = [
        "Đà Nẵng",
        "Dương Đông",
        "Cà Mau",
        "Ăn Uống",
        "An Giang",
        "Âu Lạc",
        "Bình Dương",
        "Ô Môn",
        "Ơn",
        "Oanh",
        "Ưu",
        "Uyên",
        "Hà Giang",
        "Hạ Long",
        "Hải Phòng",
    ]
    assert sorted(words, key=vi_sort_key) == [
        "An Giang",
        "Ăn Uống",
        "Âu Lạc",
        "Bình Dương",
        "Cà Mau",
        "Dương Đông",
        "Đà Nẵng",
        "Hà Giang",
        "Hạ Long",
        "Hải Phòng",
        "Oanh",
        "Ô Môn",
        "Ơn",
        "Uyên",
        "Ưu",
    ]


def test_every_allowed_value_has_a_vietnamese_and_english_label() -> None:
    from catalog.metamodel import DEFAULT, VALUE_LABELS

    values = {v for k in DEFAULT.kinds.values() for a in k.attributes for v in a.values}
    assert sorted(values - set(VALUE_LABELS)) == []
    assert all(label.vi and label.en for label in VALUE_LABELS.values())
    lifecycle = DEFAULT.kind("system").attribute("lifecycle")
    assert lifecycle.value_label("production") == "Đang vận hành"
    assert lifecycle.value_label("production", "en") == "In production"
    assert lifecycle.value_label("not-a-value") == "not-a-value"
