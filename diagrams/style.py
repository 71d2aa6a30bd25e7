"""How diagrams look beyond what the metamodel says: the style of aggregated edges, changes and focus, and the
diagram's own words. What relationships mean is not here: the direction data flows along each
(``RelationSpec.flows_from``: edges are drawn that way, so arrows point into the operations centre), how each is
drawn (``RelationSpec.style``), node shapes and colours (``KindSpec.shape`` / ``KindSpec.color``) and the labels of
enumerated values (protocols, lifecycle stages: ``AttributeSpec.value_label``) all come from catalog/metamodel.py, so
a kind or relationship declared there is drawn without touching diagrams/. A relationship type the metamodel does
not declare is drawn as stored, solid grey, and does not shape the layout.
"""

from __future__ import annotations

from catalog.metamodel import DEFAULT, EdgeStyle, Label, Metamodel

AGGREGATE = "aggregate"  # the edge type of a collapsed landscape's organisation-to-organisation data flows
AGGREGATE_EDGE = EdgeStyle("solid", "#1d4ed8", "normal", 1.2)
DEFAULT_EDGE = EdgeStyle()

# Changes (diff view) and focus: colour *and* line style, so they read in black and white too.
HIGHLIGHT = {
    "added": ("#15803d", "bold", "#dcfce7"),  # (line colour, extra style, fill)
    "removed": ("#b91c1c", "dashed", "#fee2e2"),
    "changed": ("#c2410c", "bold", "#ffedd5"),
    "focus": ("#111111", "bold", ""),
    "external": ("#6b7280", "dashed", "#f9fafb"),  # owned outside the view's scope (the IOC view's sources)
}

WORDS: dict[str, Label] = {
    "legend": Label("Chú giải", "Legend"),
    "as_of": Label("Tình trạng ngày", "State on"),
    "recorded": Label("theo danh mục ghi nhận đến hết ngày", "as recorded by the end of"),
    "current_record": Label("theo danh mục hiện hành", "as currently recorded"),
    "revision": Label("Phiên bản danh mục", "Catalog revision"),
    "via": Label("qua", "via"),
    "no_owner": Label("Chưa xác định chủ quản", "No owner recorded"),
    "platforms": Label("Nền tảng dùng chung", "Shared platforms"),
    "ioc": Label("Trung tâm điều hành", "Operations centre"),
    "added": Label("thêm mới", "added"),
    "removed": Label("đã xóa", "removed"),
    "changed": Label("thay đổi", "changed"),
    "external": Label("nguồn ngoài phạm vi", "source outside the scope"),
    "external_sources": Label("Nguồn dữ liệu ngoài phạm vi", "Sources outside the scope"),
    "scope": Label("phạm vi", "scope"),
    "valid_on": Label("ngày hiệu lực", "valid on"),
    "full_lineage": Label("toàn bộ nguồn dữ liệu", "the whole lineage"),
    "whole_catalog": Label("toàn bộ danh mục", "the whole catalog"),
    "with_units": Label("{org} và các đơn vị trực thuộc", "{org} and its units"),
    "hops": Label("{depth} bước {direction}", "{depth} hops {direction}"),
    "out": Label("theo chiều ra", "outwards"),
    "in": Label("theo chiều vào", "inwards"),
    "both": Label("theo hai chiều", "both ways"),
    "consumers": Label("{db} và nơi khai thác", "{db} and who uses it"),
    "aggregate": Label("luồng dữ liệu (gộp)", "data flows (aggregated)"),
    "collapsed": Label(
        "Gộp theo cơ quan: {n} thực thể vượt giới hạn {limit} nút",
        "Collapsed to organisations: {n} entities exceed the limit of {limit} nodes",
    ),
    "rolled_up": Label(
        "Các cơ quan vẫn vượt giới hạn: gộp lên cơ quan cấp cao nhất",
        "Still too many organisations: rolled up to the top of each hierarchy",
    ),
}


def word(key: str, lang: str) -> str:
    return WORDS[key].get(lang)


def edge_style(type_: str, metamodel: Metamodel = DEFAULT) -> EdgeStyle:
    """How an edge of ``type_`` (a relationship type, or :data:`AGGREGATE`) is drawn."""
    if type_ == AGGREGATE:
        return AGGREGATE_EDGE
    spec = metamodel.relations.get(type_)
    return spec.style if spec is not None else DEFAULT_EDGE


def carries_data(type_: str, metamodel: Metamodel = DEFAULT) -> bool:
    """Whether relationships of ``type_`` carry data (drawn in the direction it flows, shaping the layout)."""
    spec = metamodel.relations.get(type_)
    return spec is not None and spec.flows_from is not None


__all__ = [
    "AGGREGATE",
    "AGGREGATE_EDGE",
    "DEFAULT_EDGE",
    "HIGHLIGHT",
    "WORDS",
    "EdgeStyle",
    "carries_data",
    "edge_style",
    "word",
]
