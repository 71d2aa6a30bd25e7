"""Allowed values are named by their labels in the reader's language, never by their codes, in every reason that
lists them (issue 16); the API's problem details carry the codes beside the sentence (``allowed``), and a label
typed back is accepted as its value."""

from __future__ import annotations

import pytest

from catalog.errors import ValidationFailed
from catalog.i18n import allowed_codes, text
from catalog.metamodel import DEFAULT, LIFECYCLE
from catalog.model import Entity, Relationship, validate_entity, validate_relationship

from .conftest import Api

LIFECYCLE_VI = "Kế hoạch, Đang xây dựng, Đang vận hành, Sắp ngừng, Ngừng hoạt động"


def test_a_value_not_allowed_lists_the_labels_and_keeps_the_codes() -> None:
    spec = next(a for a in DEFAULT.kinds["system"].attributes if a.name == "lifecycle")
    with pytest.raises(ValueError) as exc:
        spec.coerce("alive")
    reason = exc.value.args[0]
    assert text(reason, "vi") == f"phải là một trong: {LIFECYCLE_VI}"
    assert text(reason, "en") == "must be one of: Planned, Building, In production, Retiring, Retired"
    assert allowed_codes(reason) == list(LIFECYCLE)


@pytest.mark.parametrize("said", ["Đang vận hành", "đang  VẬN hành", "In production", "production"])
def test_a_label_typed_back_is_its_value(said: str) -> None:
    e = validate_entity(Entity(ref="system:x", name={"vi": "X"}, attributes={"lifecycle": said}))
    assert e.attributes["lifecycle"] == "production"


def test_kinds_and_relationship_types_are_named_by_label() -> None:
    with pytest.raises(ValidationFailed) as exc:
        validate_relationship(Relationship(type="reads", source="database:a", target="system:b"))
    vi = " ".join(text(e.reason, "vi") for e in exc.value.errors)
    assert "Cơ sở dữ liệu" in vi and "Hệ thống thông tin" in vi
    assert "database" not in vi and "system" not in vi and "'reads'" not in vi
    with pytest.raises(ValidationFailed) as exc:
        validate_entity(Entity(ref="system:x", name={"vi": "X"}))
    required = [text(e.reason, "vi") for e in exc.value.errors if e.location == "attributes.lifecycle"]
    assert required == [f"bắt buộc đối với Hệ thống thông tin; một trong: {LIFECYCLE_VI}"]


def test_the_api_says_labels_and_gives_the_codes(api: Api) -> None:
    bad = {"code": "x-1", "name": {"vi": "X"}, "owner": "organization:hcm-skhcn", "attributes": {"lifecycle": "alive"}}
    for lang, said in (("vi", LIFECYCLE_VI), ("en", "Planned, Building, In production, Retiring, Retired")):
        r = api.client.post("/api/v1/systems", headers={**api.as_("admin"), "Accept-Language": lang}, json=bad)
        assert r.status_code == 422, r.text
        errors = {e["field"]: e for e in r.json()["errors"]}
        found = [e for f, e in errors.items() if f.endswith("attributes.lifecycle")]
        assert found, errors
        assert said in found[0]["reason"]
        assert found[0]["allowed"] == list(LIFECYCLE)


def test_an_unknown_attribute_names_the_attributes_by_label() -> None:
    with pytest.raises(ValidationFailed) as exc:
        validate_entity(Entity(ref="system:x", name={"vi": "X"}, attributes={"lifecycle": "planned", "colour": "red"}))
    (error,) = exc.value.errors
    vi = text(error.reason, "vi")
    assert vi.startswith("không phải thuộc tính của Hệ thống thông tin; được phép: ") and "Giai đoạn vòng đời" in vi
    assert "lifecycle" not in vi
    assert "lifecycle" in (allowed_codes(error.reason) or [])
