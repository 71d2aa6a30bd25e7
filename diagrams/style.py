"""How relationships, changes and the diagram's own words look. Node shapes and colours are not here: they come from
the metamodel (``KindSpec.shape`` / ``KindSpec.color``), so a kind added there is drawn without touching diagrams/.

Edges are drawn in the direction **data flows**, so arrows point into the operations centre: ``reads`` and
``consumes`` are drawn from the database or service to the reader; ``writes``, ``provides``, ``exposes``,
``flows_to`` and ``feeds`` as stored. Relationships that carry no data (``published_on``, ``hosted_on``,
``operated_by``, ``part_of``, ``federates_with``, ``supersedes``, ``successor_of``) are drawn as stored, in a style
that does not look like a data flow. A relationship kind from an extension with no entry here is drawn as stored,
solid grey.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.metamodel import Label

# "forward": data flows source -> target; "reverse": target -> source; "none": not a data flow
FLOW: dict[str, str] = {
    "reads": "reverse", "consumes": "reverse",
    "writes": "forward", "provides": "forward", "exposes": "forward", "flows_to": "forward", "feeds": "forward",
    "published_on": "none", "hosted_on": "none", "operated_by": "none", "part_of": "none",
    "federates_with": "none", "supersedes": "none", "successor_of": "none",
}


@dataclass(frozen=True)
class EdgeStyle:
    style: str  # Graphviz style: solid, dashed, dotted, bold
    color: str
    arrowhead: str
    penwidth: float = 1.0
    dir: str = "forward"


EDGE_STYLES: dict[str, EdgeStyle] = {
    "feeds": EdgeStyle("bold", "#b45309", "normal", 2.0),
    "flows_to": EdgeStyle("solid", "#1d4ed8", "normal", 1.4),
    "reads": EdgeStyle("solid", "#15803d", "vee"),
    "writes": EdgeStyle("solid", "#15803d", "normal"),
    "consumes": EdgeStyle("dashed", "#7e22ce", "vee"),
    "provides": EdgeStyle("dashed", "#7e22ce", "normal"),
    "exposes": EdgeStyle("dashed", "#15803d", "normal"),
    "published_on": EdgeStyle("dotted", "#555555", "odot"),
    "hosted_on": EdgeStyle("dotted", "#999999", "empty"),
    "operated_by": EdgeStyle("dotted", "#999999", "diamond"),
    "part_of": EdgeStyle("dotted", "#555555", "odiamond"),
    "federates_with": EdgeStyle("dotted", "#555555", "none", 1.4, "none"),
    "supersedes": EdgeStyle("dashed", "#999999", "onormal"),
    "successor_of": EdgeStyle("dashed", "#999999", "onormal"),
    "aggregate": EdgeStyle("solid", "#1d4ed8", "normal", 1.2),
}
DEFAULT_EDGE = EdgeStyle("solid", "#777777", "normal")

# Changes (diff view) and focus: colour *and* line style, so they read in black and white too.
HIGHLIGHT = {
    "added": ("#15803d", "bold", "#dcfce7"),  # (line colour, extra style, fill)
    "removed": ("#b91c1c", "dashed", "#fee2e2"),
    "changed": ("#c2410c", "bold", "#ffedd5"),
    "focus": ("#111111", "bold", ""),
}

PROTOCOLS: dict[str, Label] = {
    "rest": Label("REST", "REST"), "soap": Label("SOAP", "SOAP"), "edxml": Label("edXML", "edXML"),
    "file": Label("tệp", "file"), "db_link": Label("kết nối CSDL", "DB link"),
    "message": Label("bản tin", "message"),
    "video_stream": Label("luồng video", "video stream"), "sftp": Label("SFTP", "SFTP"),
    "other": Label("khác", "other"),
}

WORDS: dict[str, Label] = {
    "legend": Label("Chú giải", "Legend"),
    "as_of": Label("Tình trạng ngày", "State on"),
    "recorded": Label("theo danh mục ghi nhận đến hết ngày", "as recorded by the end of"),
    "current_record": Label("theo danh mục hiện hành", "as currently recorded"),
    "revision": Label("Phiên bản danh mục", "Catalog revision"),
    "via": Label("qua", "via"),
    "published_on": Label("công bố trên", "published on"),
    "no_owner": Label("Chưa xác định chủ quản", "No owner recorded"),
    "platforms": Label("Nền tảng dùng chung", "Shared platforms"),
    "ioc": Label("Trung tâm điều hành", "Operations centre"),
    "added": Label("thêm mới", "added"),
    "removed": Label("đã xóa", "removed"),
    "changed": Label("thay đổi", "changed"),
    "planned": Label("kế hoạch", "planned"),
    "aggregate": Label("luồng dữ liệu (gộp)", "data flows (aggregated)"),
    "collapsed": Label("Gộp theo cơ quan: {n} thực thể vượt giới hạn {limit} nút",
                       "Collapsed to organisations: {n} entities exceed the limit of {limit} nodes"),
    "rolled_up": Label("Các cơ quan vẫn vượt giới hạn: gộp lên cơ quan cấp cao nhất",
                       "Still too many organisations: rolled up to the top of each hierarchy"),
    "building": Label("đang xây dựng", "building"),
    "retiring": Label("đang dừng", "retiring"),
    "retired": Label("đã dừng", "retired"),
}


def word(key: str, lang: str) -> str:
    return WORDS[key].get(lang)


def edge_style(type_: str) -> EdgeStyle:
    return EDGE_STYLES.get(type_, DEFAULT_EDGE)


__all__ = ["DEFAULT_EDGE", "EDGE_STYLES", "FLOW", "HIGHLIGHT", "PROTOCOLS", "WORDS", "EdgeStyle", "edge_style", "word"]
