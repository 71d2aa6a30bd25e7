"""The metamodel: the one place that declares what the catalog can hold.

Kinds, their attributes (type, required, allowed values, Vietnamese and English labels), relationship kinds with
their allowed endpoints and properties, and what each relationship means (:class:`RelationSpec`): how it propagates a
dependency (impact analysis), which way data flows along it, how diagrams draw it, whether it leads into an
operations centre and its part in the use of a database. Validation, API schemas, templates, UI forms, diagram
styles and the analyses are all derived from here.

Custom attributes are added per kind without code: a YAML file named by ``IOC_CATALOG_METAMODEL_EXTENSIONS`` (or passed
to :func:`load_metamodel`) of the form::

    system:
      funding_source:
        type: enum
        values: [state_budget, oda, ppp]
        label: {vi: Nguồn vốn, en: Funding source}
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from catalog.errors import FieldError, ValidationFailed
from catalog.i18n import Term, msg, one_of, term

AttrType = Literal["str", "text", "int", "bool", "date", "enum", "ref", "list"]
Dependency = Literal["source_on_target", "target_on_source", "both", "none"]
End = Literal["source", "target"]
# A relationship's part in the use of a database (catalog.analysis.database_consumers): "use": its source uses the
# data of its target (a database, or a service exposing one); "exposure": its target (a service) offers the data of
# its source (a database); "publication": its source (a service) is offered on its target (a platform);
# "provision": its source provides its target (a service); "none": no part
DatabaseRole = Literal["use", "exposure", "publication", "provision", "none"]


@dataclass(frozen=True)
class Label:
    vi: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    type: AttrType
    label: Label
    required: bool = False
    values: tuple[str, ...] = ()
    ref_kinds: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    custom: bool = False
    kept: bool = False  # what an import kept from its source (source_properties): not a field to fill in

    def value_label(self, value: Any, lang: str = "vi") -> str:
        """What people read for an allowed value (``production`` -> "Đang vận hành"); the code itself otherwise."""
        label = VALUE_LABELS.get(value) if isinstance(value, str) and value in self.values else None
        return label.get(lang) if label else str(value)

    def value_term(self, value: str) -> Term:
        """An allowed value in a sentence: its label in the reader's language (``value-one-of`` lists them)."""
        return term(value, VALUE_LABELS.get(value) if value in self.values else None)

    def value_of_label(self, said: str) -> str | None:
        """The allowed value whose Vietnamese or English label ``said`` is (any letter case and spacing), so that
        what an error lists may be typed back; None when no one value has that label."""
        key = " ".join(said.split()).casefold()
        found = {v for v in self.values if (lb := VALUE_LABELS.get(v)) and key in (lb.vi.casefold(), lb.en.casefold())}
        return found.pop() if len(found) == 1 else None

    def coerce(self, value: Any) -> Any:
        """Return the value in its canonical type or raise ValueError with a reason."""
        if self.type in ("str", "text"):
            if not isinstance(value, str):
                raise ValueError(msg("value-must-be-text"))
            if self.type == "str" and len(value) > 2000:
                raise ValueError(msg("value-too-long", limit=2000))
            if len(value) > 100_000:
                raise ValueError(msg("value-too-long", limit=100000))
            return value
        if self.type == "int":
            if isinstance(value, bool):
                raise ValueError(msg("value-must-be-int"))
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                value = int(value.strip())
            if not isinstance(value, int):
                raise ValueError(msg("value-must-be-int"))
            if self.minimum is not None and value < self.minimum:
                raise ValueError(msg("value-at-least", minimum=self.minimum))
            if self.maximum is not None and value > self.maximum:
                raise ValueError(msg("value-at-most", maximum=self.maximum))
            return value
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in (
                "true",
                "yes",
                "có",
                "1",
                "false",
                "no",
                "không",
                "0",
            ):
                return value.strip().lower() in ("true", "yes", "có", "1")
            raise ValueError(msg("value-must-be-bool"))
        if self.type == "date":
            if isinstance(value, dt.datetime):
                return value.date().isoformat()
            if isinstance(value, dt.date):
                return value.isoformat()
            if isinstance(value, str):
                try:
                    return dt.date.fromisoformat(value.strip()).isoformat()
                except ValueError:
                    pass
            raise ValueError(msg("value-must-be-date"))
        if self.type == "enum":
            if isinstance(value, str) and value not in self.values:
                value = self.value_of_label(value) or value
            if not isinstance(value, str) or value not in self.values:
                raise ValueError(msg("value-one-of", allowed=[self.value_term(v) for v in self.values]))
            return value
        if self.type == "ref":
            if not isinstance(value, str) or ":" not in value:
                raise ValueError(msg("value-must-be-ref"))
            kind = value.split(":", 1)[0]
            if self.ref_kinds and kind not in self.ref_kinds:
                raise ValueError(msg("value-must-reference", kinds=one_of(self.ref_kinds)))
            return value
        if self.type == "list":
            if isinstance(value, str):
                value = [v.strip() for v in value.split(";") if v.strip()]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(msg("value-must-be-text-list"))
            return value
        raise ValueError(f"unknown attribute type {self.type}")  # pragma: no cover - declarations are checked


@dataclass(frozen=True)
class KindSpec:
    name: str
    label: Label
    plural: Label
    attributes: tuple[AttributeSpec, ...]
    owned: bool = True  # has an owner organisation (Chủ quản)
    shape: str = "box"  # Graphviz shape, distinguishable without colour
    color: str = "#dddddd"
    # an organisation kind: its entities own others (the targets of ``owned_by``), have parents and org events; a
    # kind may be neither owned nor an organisation (a capability is the whole city's, curated by its architects)
    organisation: bool = False
    collection: str = ""  # the REST collection's path segment (``/api/v1/<collection>``): ``<name>s`` unless given

    @property
    def path(self) -> str:
        """The kind's REST collection, an English plural: ``systems``, ``capabilities``, ``processes``."""
        return self.collection or self.name + "s"

    def attribute(self, name: str) -> AttributeSpec | None:
        for a in self.attributes:
            if a.name == name:
                return a
        return None

    @property
    def web_shape(self) -> str:
        """The shape the browser's graph explorer (Cytoscape.js) draws for this kind: the Graphviz shape's
        nearest counterpart (:data:`WEB_SHAPES`), so diagrams and the explorer tell kinds apart the same way."""
        return WEB_SHAPES.get(self.shape, "round-rectangle")


# Graphviz node shapes and arrowheads of the metamodel -> their Cytoscape.js counterparts (the graph explorer)
WEB_SHAPES = {
    "folder": "tag",
    "box": "round-rectangle",
    "cylinder": "barrel",
    "component": "cut-rectangle",
    "hexagon": "hexagon",
    "note": "rhomboid",
    "septagon": "heptagon",
    "octagon": "octagon",
    "house": "pentagon",
    "cds": "concave-hexagon",
    "ellipse": "ellipse",
    "diamond": "diamond",
    "box3d": "rectangle",
}
WEB_ARROWS = {
    "normal": "triangle",
    "vee": "vee",
    "diamond": "diamond",
    "odiamond": "diamond",
    "odot": "circle",
    "empty": "triangle",
    "onormal": "triangle",
    "none": "none",
}


@dataclass(frozen=True)
class EdgeStyle:
    """How diagrams draw a relationship (Graphviz): told apart by line and arrowhead as well as by colour."""

    style: str = "solid"  # solid, dashed, dotted, bold
    color: str = "#777777"
    arrowhead: str = "normal"
    penwidth: float = 1.0
    dir: str = "forward"  # "none": drawn without a direction

    def web(self) -> dict[str, str | float | bool]:
        """The same style for the graph explorer (Cytoscape.js): line style, colour, width, arrowhead shape and
        whether the arrowhead is hollow (Graphviz's ``o`` prefix and ``empty``)."""
        return {
            "line": "solid" if self.style == "bold" else self.style,
            "color": self.color,
            "width": round(self.penwidth * (2.0 if self.style == "bold" else 1.4), 2),
            "arrow": "none" if self.dir == "none" else WEB_ARROWS.get(self.arrowhead, "triangle"),
            "hollow": self.arrowhead.startswith("o") or self.arrowhead == "empty",
        }


@dataclass(frozen=True)
class RelationSpec:
    """A relationship kind and what it means; everything that interprets relationships reads it from here."""

    name: str
    label: Label
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    dependency: Dependency = "none"  # who depends on whom (impact analysis, the IOC view's walk)
    properties: tuple[AttributeSpec, ...] = ()
    derived: bool = False  # not stored as a relationship (owned_by comes from an entity's ownership history)
    flows_from: End | None = None  # the end data flows from (diagrams draw edges that way); None: carries no data
    style: EdgeStyle = EdgeStyle()
    ioc_path: bool = False  # followed, along its dependency, to find what reaches an operations centre (IOC view)
    database_role: DatabaseRole = "none"
    same_kind: bool = False  # only between two entities of one kind (specialisation)

    def property(self, name: str) -> AttributeSpec | None:
        for a in self.properties:
            if a.name == name:
                return a
        return None

    def allows(self, source_kind: str, target_kind: str) -> bool:
        """Whether a relationship of this kind may go from an entity of ``source_kind`` to one of ``target_kind``."""
        if self.same_kind and source_kind != target_kind:
            return False
        return source_kind in self.sources and target_kind in self.targets

    def flow(self, source: str, target: str) -> tuple[str, str] | None:
        """``(from, to)``: where data comes from and goes to along a relationship ``source -> target``; None when
        it carries no data."""
        if self.flows_from is None:
            return None
        return (source, target) if self.flows_from == "source" else (target, source)


# Labels of allowed values (codes are what is stored, exchanged and filtered on; labels are what people read)
VALUE_LABELS: dict[str, Label] = {
    "active": Label("Đang hoạt động", "Active"),
    "ad_hoc": Label("Đột xuất", "Ad hoc"),
    "agency": Label("Cơ quan, đơn vị", "Agency"),
    "api_gateway": Label("Cổng API", "API gateway"),
    "api_key": Label("Khóa API", "API key"),
    "archimate": Label("ArchiMate", "ArchiMate"),
    "approved": Label("Đã phê duyệt", "Approved"),
    "backstage": Label("Backstage", "Backstage"),
    "basic": Label("Cơ bản", "Basic"),
    "building": Label("Đang xây dựng", "Building"),
    "city": Label("Thành phố", "City"),
    "city_ioc": Label("IOC cấp tỉnh/thành phố", "City IOC"),
    "cloud": Label("Điện toán đám mây", "Cloud"),
    "commune": Label("Xã", "Commune"),
    "core": Label("Dữ liệu cốt lõi", "Core"),
    "critical": Label("Tối quan trọng", "Critical"),
    "daily": Label("Hằng ngày", "Daily"),
    "data": Label("Dữ liệu", "Data"),
    "data_centre": Label("Trung tâm dữ liệu", "Data centre"),
    "db_link": Label("Kết nối CSDL trực tiếp", "Database link"),
    "department": Label("Sở, ban, ngành", "Department"),
    "dissolved": Label("Đã giải thể", "Dissolved"),
    "district": Label("Quận, huyện", "District"),
    "district_ioc": Label("IOC cấp quận/huyện", "District IOC"),
    "documented": Label("Có văn bản xác thực", "Documented"),
    "edxml": Label("edXML", "edXML"),
    "error": Label("Lỗi", "Error"),  # compliance severities (catalog/compliance.py SEVERITIES)
    "esb": Label("Trục tích hợp (ESB)", "ESB"),
    "file": Label("Tệp", "File"),
    "high": Label("Cao", "High"),
    "hosting": Label("Hạ tầng lưu trữ", "Hosting"),
    "hourly": Label("Hằng giờ", "Hourly"),
    "info": Label("Thông tin", "Information"),
    "identity": Label("Định danh", "Identity"),
    "illustrative": Label("Minh họa", "Illustrative"),
    "important": Label("Dữ liệu quan trọng", "Important"),
    "industrial_control": Label("Điều khiển công nghiệp", "Industrial control"),
    "infrastructure": Label("Hạ tầng", "Infrastructure"),
    "integration": Label("Tích hợp, chia sẻ", "Integration"),
    "internal": Label("Nội bộ", "Internal"),
    "keep": Label("Duy trì", "Keep"),
    "lgsp": Label("Nền tảng LGSP", "LGSP"),
    "low": Label("Thấp", "Low"),
    "medium": Label("Trung bình", "Medium"),
    "merged": Label("Đã hợp nhất", "Merged"),
    "message": Label("Thông điệp", "Message"),
    "ministry": Label("Bộ, ngành", "Ministry"),
    "monthly": Label("Hằng tháng", "Monthly"),
    "mtls": Label("mTLS", "mTLS"),
    "national": Label("Quốc gia", "National"),
    "ndxp": Label("Nền tảng NDXP", "NDXP"),
    "none": Label("Không", "None"),
    "oauth2": Label("OAuth 2.0", "OAuth 2.0"),
    "open": Label("Dữ liệu mở", "Open"),
    "open_data_portal": Label("Cổng dữ liệu mở", "Open data portal"),
    "operations_centre": Label("Điều hành", "Operations centre"),
    "other": Label("Khác", "Other"),
    "planned": Label("Kế hoạch", "Planned"),
    "production": Label("Đang vận hành", "In production"),
    "proposed": Label("Đề xuất", "Proposed"),
    "province": Label("Tỉnh", "Province"),
    "provincial": Label("Cấp tỉnh", "Provincial"),
    "public_facing": Label("Phục vụ người dân, doanh nghiệp", "Public-facing"),
    "realtime": Label("Thời gian thực", "Real time"),
    "rest": Label("REST", "REST"),
    "retired": Label("Ngừng hoạt động", "Retired"),
    "retiring": Label("Sắp ngừng", "Retiring"),
    "sector": Label("Ngành, lĩnh vực", "Sector"),
    "sector_oc": Label("Trung tâm điều hành chuyên ngành", "Sector operations centre"),
    "sectoral": Label("Chuyên ngành", "Sectoral"),
    "sensitive": Label("Nhạy cảm", "Sensitive"),
    "sftp": Label("SFTP", "SFTP"),
    "shared": Label("Dùng chung", "Shared"),
    "soap": Label("SOAP", "SOAP"),
    "sso": Label("Đăng nhập một lần (SSO)", "Single sign-on"),
    "state_enterprise": Label("Doanh nghiệp nhà nước", "State enterprise"),
    "terminate": Label("Chấm dứt", "Terminate"),
    "undecided": Label("Chưa quyết định", "Undecided"),
    "unit": Label("Đơn vị trực thuộc", "Unit"),
    "vendor": Label("Nhà cung cấp", "Vendor"),
    "video_stream": Label("Luồng video", "Video stream"),
    "vneid": Label("VNeID", "VNeID"),
    "vpn": Label("VPN", "VPN"),
    "ward": Label("Phường", "Ward"),
    "warehouse": Label("Kho dữ liệu", "Data warehouse"),
    "weekly": Label("Hằng tuần", "Weekly"),
    "yearly": Label("Hằng năm", "Yearly"),
    "warning": Label("Cảnh báo", "Warning"),
    # business layer: how far an administrative procedure is served online, what a technology node is
    "full_online": Label("Trực tuyến toàn trình", "Fully online"),
    "partial_online": Label("Trực tuyến một phần", "Partly online"),
    "offline": Label("Chưa trực tuyến", "Not online"),
    "server": Label("Máy chủ", "Server"),
    "device": Label("Thiết bị", "Device"),
    "network": Label("Mạng", "Network"),
    "system_software": Label("Phần mềm hệ thống", "System software"),
}


def _a(name: str, type_: AttrType, vi: str, en: str, **kw: Any) -> AttributeSpec:
    if "values" in kw:
        kw["values"] = tuple(kw["values"])
    if "ref_kinds" in kw:
        kw["ref_kinds"] = tuple(kw["ref_kinds"])
    return AttributeSpec(name=name, type=type_, label=Label(vi, en), **kw)


LIFECYCLE = ("planned", "building", "production", "retiring", "retired")
PROTOCOLS = ("rest", "soap", "edxml", "file", "db_link", "message", "video_stream", "sftp", "other")
SECURITY = {"minimum": 1, "maximum": 5}
# the formats whose concepts may be kept as they are (kind and relationship ``preserved``)
SOURCE_FORMATS = ("archimate", "backstage")
# properties an import found that no attribute declares, kept with their source: one "<format>:<key>=<value>" each
SOURCE_PROPERTIES = _a(
    "source_properties", "list", "Thuộc tính giữ nguyên từ nguồn", "Properties kept from the source", kept=True
)

COMMON = (
    _a("evidence", "enum", "Nguồn xác thực", "Evidence", values=("documented", "illustrative")),
    _a("evidence_note", "text", "Ghi chú nguồn", "Evidence note"),
    _a("url", "str", "Địa chỉ truy cập", "URL"),
    _a("last_reviewed", "date", "Ngày rà soát gần nhất", "Last reviewed"),
    SOURCE_PROPERTIES,
)

KINDS: tuple[KindSpec, ...] = (
    KindSpec(
        "organization",
        Label("Cơ quan, tổ chức", "Organisation"),
        Label("Cơ quan, tổ chức", "Organisations"),
        owned=False,
        organisation=True,
        shape="folder",
        color="#f3e5ab",
        attributes=COMMON
        + (
            _a(
                "org_type",
                "enum",
                "Loại tổ chức",
                "Organisation type",
                required=True,
                values=(
                    "ministry",
                    "province",
                    "city",
                    "department",
                    "agency",
                    "district",
                    "ward",
                    "commune",
                    "state_enterprise",
                    "vendor",
                    "unit",
                ),
            ),
            _a("short_name", "str", "Tên viết tắt", "Short name"),
            _a("parent", "ref", "Cơ quan cấp trên", "Parent organisation", ref_kinds=("organization",)),
            _a("status", "enum", "Tình trạng", "Status", values=("active", "merged", "dissolved")),
        ),
    ),
    KindSpec(
        "system",
        Label("Hệ thống thông tin", "Information system"),
        Label("Hệ thống thông tin", "Information systems"),
        shape="box",
        color="#cfe2f3",
        attributes=COMMON
        + (
            _a("lifecycle", "enum", "Giai đoạn vòng đời", "Lifecycle", required=True, values=LIFECYCLE),
            _a("criticality", "enum", "Mức độ quan trọng", "Criticality", values=("low", "medium", "high", "critical")),
            _a(
                "system_type",
                "enum",
                "Loại hệ thống",
                "System type",
                values=("internal", "public_facing", "infrastructure", "industrial_control", "other"),
            ),
            _a("security_level", "int", "Cấp độ an toàn HTTT", "Security level", **SECURITY),
            _a(
                "security_status",
                "enum",
                "Tình trạng phê duyệt cấp độ",
                "Security level status",
                values=("proposed", "approved"),
            ),
            _a("security_decision", "str", "Quyết định phê duyệt cấp độ", "Security approval decision"),
            _a("security_decision_date", "date", "Ngày phê duyệt cấp độ", "Security approval date"),
            _a("hosting", "str", "Nơi triển khai", "Hosting"),
            _a("vendor", "str", "Đơn vị phát triển", "Vendor"),
            _a("users", "int", "Số người dùng", "Users", minimum=0),
            _a(
                "decision", "enum", "Quyết định duy trì", "Keep or terminate", values=("keep", "terminate", "undecided")
            ),
            _a("decision_rationale", "text", "Lý do", "Rationale"),
            _a("decision_legal_basis", "str", "Căn cứ pháp lý", "Legal basis"),
        ),
    ),
    KindSpec(
        "database",
        Label("Cơ sở dữ liệu", "Database"),
        Label("Cơ sở dữ liệu", "Databases"),
        shape="cylinder",
        color="#d9ead3",
        attributes=COMMON
        + (
            _a("lifecycle", "enum", "Giai đoạn vòng đời", "Lifecycle", required=True, values=LIFECYCLE),
            _a(
                "scope",
                "enum",
                "Phạm vi",
                "Scope",
                required=True,
                values=("national", "sectoral", "shared", "internal", "warehouse"),
            ),
            _a("data_owner", "ref", "Cơ quan chủ quản dữ liệu", "Data owner", ref_kinds=("organization",)),
            _a("engine", "str", "Hệ quản trị CSDL", "Engine"),
            _a("personal_data", "enum", "Dữ liệu cá nhân", "Personal data", values=("none", "basic", "sensitive")),
            _a("data_class", "enum", "Phân loại dữ liệu", "Data class", values=("core", "important", "other")),
            _a("sharing", "enum", "Phạm vi chia sẻ", "Sharing", values=("shared", "internal", "open")),
            _a(
                "update_frequency",
                "enum",
                "Tần suất cập nhật",
                "Update frequency",
                values=("realtime", "daily", "weekly", "monthly", "yearly", "ad_hoc"),
            ),
            _a("security_level", "int", "Cấp độ an toàn HTTT", "Security level", **SECURITY),
        ),
    ),
    KindSpec(
        "platform",
        Label("Nền tảng", "Platform"),
        Label("Nền tảng", "Platforms"),
        shape="component",
        color="#fce5cd",
        attributes=COMMON
        + (
            _a("lifecycle", "enum", "Giai đoạn vòng đời", "Lifecycle", required=True, values=LIFECYCLE),
            _a(
                "platform_type",
                "enum",
                "Loại nền tảng",
                "Platform type",
                required=True,
                values=("integration", "operations_centre", "identity", "data", "hosting"),
            ),
            _a(
                "platform_subtype",
                "enum",
                "Phân loại chi tiết",
                "Subtype",
                values=(
                    "lgsp",
                    "ndxp",
                    "esb",
                    "api_gateway",
                    "city_ioc",
                    "district_ioc",
                    "sector_oc",
                    "vneid",
                    "sso",
                    "warehouse",
                    "open_data_portal",
                    "data_centre",
                    "cloud",
                ),
            ),
            _a("scope", "enum", "Phạm vi", "Scope", values=("national", "provincial", "city", "district", "sector")),
            _a("security_level", "int", "Cấp độ an toàn HTTT", "Security level", **SECURITY),
            _a(
                "security_status",
                "enum",
                "Tình trạng phê duyệt cấp độ",
                "Security level status",
                values=("proposed", "approved"),
            ),
        ),
    ),
    KindSpec(
        "service",
        Label("Dịch vụ chia sẻ dữ liệu", "Data-sharing service"),
        Label("Dịch vụ", "Services"),
        shape="hexagon",
        color="#ead1dc",
        attributes=COMMON
        + (
            _a("lifecycle", "enum", "Giai đoạn vòng đời", "Lifecycle", required=True, values=LIFECYCLE),
            _a("protocol", "enum", "Giao thức", "Protocol", required=True, values=PROTOCOLS),
            _a(
                "authentication",
                "enum",
                "Xác thực",
                "Authentication",
                values=("none", "api_key", "oauth2", "mtls", "basic", "vpn"),
            ),
            _a("endpoint", "str", "Điểm truy cập", "Endpoint"),
        ),
    ),
    KindSpec(
        "dataset",
        Label("Tập dữ liệu", "Dataset"),
        Label("Tập dữ liệu", "Datasets"),
        shape="note",
        color="#eeeeee",
        attributes=COMMON
        + (
            _a("domain", "str", "Lĩnh vực", "Domain"),
            _a("personal_data", "enum", "Dữ liệu cá nhân", "Personal data", values=("none", "basic", "sensitive")),
        ),
    ),
    # The business layer (the national framework's business reference model): what the city does and the
    # administrative procedures it handles, which systems serve them. A capability is the whole city's (no owner,
    # curated by architects); functions, processes, procedures and actors are owned by the organisation that answers
    # for them in the catalog (for a procedure: the lead department of its sector; ``authority`` is the organisation
    # that decides the case, e.g. a ward for civil status). Technology nodes are owned by whoever operates them.
    KindSpec(
        "capability",
        Label("Năng lực", "Capability"),
        Label("Năng lực", "Capabilities"),
        owned=False,
        collection="capabilities",
        shape="octagon",
        color="#fff2cc",
        attributes=COMMON,
    ),
    KindSpec(
        "function",
        Label("Chức năng nghiệp vụ", "Business function"),
        Label("Chức năng nghiệp vụ", "Business functions"),
        shape="house",
        color="#fde9d9",
        attributes=COMMON
        + (_a("brm_code", "str", "Mã mô hình tham chiếu nghiệp vụ (BRM)", "Business reference model (BRM) code"),),
    ),
    KindSpec(
        "process",
        Label("Quy trình nghiệp vụ", "Business process"),
        Label("Quy trình nghiệp vụ", "Business processes"),
        collection="processes",
        shape="cds",
        color="#fce4d6",
        attributes=COMMON,
    ),
    KindSpec(
        "procedure",
        Label("Thủ tục hành chính", "Administrative procedure"),
        Label("Thủ tục hành chính", "Administrative procedures"),
        shape="ellipse",
        color="#ffe599",
        attributes=COMMON
        + (
            _a("national_code", "str", "Mã thủ tục (CSDL quốc gia)", "National procedure code"),
            _a(
                "online_level",
                "enum",
                "Mức độ trực tuyến",
                "Online service level",
                values=("full_online", "partial_online", "offline"),
            ),
            _a("authority", "ref", "Cơ quan giải quyết", "Deciding authority", ref_kinds=("organization",)),
            _a("sector", "str", "Lĩnh vực", "Sector"),
        ),
    ),
    KindSpec(
        "actor",
        Label("Tác nhân nghiệp vụ", "Business actor"),
        Label("Tác nhân nghiệp vụ", "Business actors"),
        shape="diamond",
        color="#f4cccc",
        attributes=COMMON,
    ),
    KindSpec(
        "node",
        Label("Hạ tầng kỹ thuật", "Technology node"),
        Label("Hạ tầng kỹ thuật", "Technology nodes"),
        shape="box3d",
        color="#e0e0e0",
        attributes=COMMON
        + (
            _a("lifecycle", "enum", "Giai đoạn vòng đời", "Lifecycle", required=True, values=LIFECYCLE),
            _a(
                "node_type",
                "enum",
                "Loại hạ tầng",
                "Node type",
                required=True,
                values=("server", "device", "network", "system_software"),
            ),
        ),
    ),
    # what an imported model holds that no kind above expresses (an ArchiMate requirement, a Backstage Environment):
    # kept whole, with its type and identifier in the source, so that nothing imported is lost and it is exported back
    KindSpec(
        "preserved",
        Label("Phần tử giữ nguyên từ nguồn", "Preserved element"),
        Label("Phần tử giữ nguyên từ nguồn", "Preserved elements"),
        owned=False,
        collection="preserved-elements",
        shape="septagon",
        color="#e5e7eb",
        attributes=COMMON
        + (
            _a("source_format", "enum", "Định dạng nguồn", "Source format", required=True, values=SOURCE_FORMATS),
            _a("source_type", "str", "Loại phần tử ở nguồn", "Type in the source", required=True),
            _a("source_id", "str", "Mã định danh ở nguồn", "Identifier in the source"),
            _a("documentation", "text", "Tài liệu mô tả", "Documentation"),
            _a("folder", "str", "Thư mục ở nguồn", "Folder in the source"),
            # what the source holds that is neither an element nor an edge of the graph (a model's relationships on
            # relationships, its views), one JSON object per item, written back by the exporter of its format
            _a("kept_for_export", "list", "Nội dung giữ nguyên để xuất lại", "Kept for export", kept=True),
        ),
    ),
)

REL_PROPS = (
    _a("protocol", "enum", "Giao thức", "Protocol", values=PROTOCOLS),
    _a(
        "frequency",
        "enum",
        "Tần suất",
        "Frequency",
        values=("realtime", "hourly", "daily", "weekly", "monthly", "ad_hoc"),
    ),
    _a("data", "str", "Dữ liệu trao đổi", "Data carried"),
    _a("via", "ref", "Qua nền tảng", "Via platform", ref_kinds=("platform",)),
    _a("legal_basis", "str", "Căn cứ pháp lý", "Legal basis"),
    _a("status", "enum", "Trạng thái", "Status", values=("planned", "active", "retired")),
    _a("note", "text", "Ghi chú", "Note"),
    SOURCE_PROPERTIES,
)

ASSETS = ("system", "database", "platform", "service")
APPS = ("system", "platform")
BUSINESS = ("capability", "function", "process", "procedure")  # what systems serve
ALL_KINDS = tuple(k.name for k in KINDS)
OWNED_KINDS = tuple(k.name for k in KINDS if k.owned)

# Data flows are drawn solid or bold (dashed through a service), relationships that carry no data dotted or dashed
# in grey; reading (vee) and writing (normal) arrowheads differ, so the diagrams read in black and white too.
RELATIONS: tuple[RelationSpec, ...] = (
    RelationSpec(
        "owned_by",
        Label("thuộc chủ quản", "owned by"),
        OWNED_KINDS,
        ("organization",),
        derived=True,
    ),
    RelationSpec(
        "operated_by",
        Label("vận hành bởi", "operated by"),
        ASSETS,
        ("organization",),
        properties=REL_PROPS,
        style=EdgeStyle("dotted", "#999999", "diamond"),
    ),
    RelationSpec(
        "part_of",
        Label("là thành phần của", "part of"),
        ("organization",) + ASSETS,
        ("organization",) + ASSETS,
        dependency="target_on_source",
        properties=REL_PROPS,
        style=EdgeStyle("dotted", "#555555", "odiamond"),
    ),
    RelationSpec(
        "reads",
        Label("đọc dữ liệu từ", "reads"),
        APPS + ("service",),
        ("database", "dataset"),
        dependency="source_on_target",
        properties=REL_PROPS,
        flows_from="target",
        style=EdgeStyle("solid", "#15803d", "vee"),
        ioc_path=True,
        database_role="use",
    ),
    RelationSpec(
        "writes",
        Label("ghi dữ liệu vào", "writes"),
        APPS + ("service",),
        ("database", "dataset"),
        dependency="target_on_source",
        properties=REL_PROPS,
        flows_from="source",
        style=EdgeStyle("solid", "#15803d", "normal"),
        ioc_path=True,
        database_role="use",
    ),
    RelationSpec(
        "provides",
        Label("cung cấp", "provides"),
        APPS + ("organization",),
        ("service",),
        dependency="target_on_source",
        properties=REL_PROPS,
        flows_from="source",
        style=EdgeStyle("dashed", "#7e22ce", "normal"),
        ioc_path=True,
        database_role="provision",
    ),
    RelationSpec(
        "exposes",
        Label("được khai thác qua", "exposed through"),
        ("database",),
        ("service",),
        dependency="target_on_source",
        properties=REL_PROPS,
        flows_from="source",
        style=EdgeStyle("dashed", "#15803d", "normal"),
        ioc_path=True,
        database_role="exposure",
    ),
    RelationSpec(
        "published_on",
        Label("công bố trên", "published on"),
        ("service",),
        ("platform",),
        dependency="source_on_target",
        properties=REL_PROPS,
        style=EdgeStyle("dotted", "#555555", "odot"),
        ioc_path=True,
        database_role="publication",
    ),
    RelationSpec(
        "consumes",
        Label("sử dụng dịch vụ", "consumes"),
        APPS,
        ("service",),
        dependency="source_on_target",
        properties=REL_PROPS,
        flows_from="target",
        style=EdgeStyle("dashed", "#7e22ce", "vee"),
        ioc_path=True,
        database_role="use",
    ),
    RelationSpec(
        "flows_to",
        Label("truyền dữ liệu tới", "flows to"),
        ASSETS,
        ASSETS,
        dependency="target_on_source",
        properties=REL_PROPS,
        flows_from="source",
        style=EdgeStyle("solid", "#1d4ed8", "normal", 1.4),
        ioc_path=True,
    ),
    RelationSpec(
        "hosted_on",
        Label("triển khai trên", "hosted on"),
        ASSETS + ("node",),
        ("platform", "node"),
        dependency="source_on_target",
        properties=REL_PROPS,
        style=EdgeStyle("dotted", "#999999", "empty"),
    ),
    RelationSpec(
        "feeds",
        Label("cung cấp dữ liệu cho", "feeds"),
        ASSETS,
        ("platform",),
        dependency="target_on_source",
        properties=REL_PROPS,
        flows_from="source",
        style=EdgeStyle("bold", "#b45309", "normal", 2.0),
        ioc_path=True,
    ),
    # the federating platform (a provincial LGSP) depends on the one it federates with (the NDXP), not the reverse:
    # one province's outage does not take the national platform, and through it every other province, down
    RelationSpec(
        "federates_with",
        Label("liên thông với", "federates with"),
        ("platform",),
        ("platform",),
        dependency="source_on_target",
        properties=REL_PROPS,
        style=EdgeStyle("dotted", "#555555", "none", 1.4, "none"),
    ),
    RelationSpec(
        "supersedes",
        Label("thay thế", "supersedes"),
        ASSETS,
        ASSETS,
        properties=REL_PROPS,
        style=EdgeStyle("dashed", "#999999", "onormal"),
    ),
    RelationSpec(
        "successor_of",
        Label("kế thừa", "successor of"),
        ("organization",),
        ("organization",),
        properties=REL_PROPS,
        style=EdgeStyle("dashed", "#999999", "onormal"),
    ),
    # the business layer: what serves what, and how business elements are built from one another
    RelationSpec(
        "serves",
        Label("phục vụ", "serves"),
        APPS + ("service",),
        BUSINESS,
        dependency="target_on_source",
        properties=REL_PROPS,
        style=EdgeStyle("solid", "#0f766e", "odot", 1.2),
    ),
    RelationSpec(
        "realises",
        Label("hiện thực hóa", "realises"),
        ("function", "process"),
        ("capability", "procedure"),
        dependency="target_on_source",
        properties=REL_PROPS,
        style=EdgeStyle("dashed", "#555555", "empty"),
    ),
    RelationSpec(
        "aggregates",
        Label("tập hợp", "aggregates"),
        ("capability", "function", "process", "actor", "node"),
        ("capability", "function", "process", "procedure", "actor", "node"),
        dependency="source_on_target",
        properties=REL_PROPS,
        style=EdgeStyle("solid", "#555555", "odiamond"),
    ),
    RelationSpec(
        "composes",
        Label("gồm", "composed of"),
        ("capability", "function", "process", "node"),
        ("capability", "function", "process", "procedure", "node"),
        dependency="source_on_target",
        properties=REL_PROPS,
        style=EdgeStyle("solid", "#555555", "diamond"),
    ),
    RelationSpec(
        "specialises",
        Label("là dạng cụ thể của", "specialises"),
        ALL_KINDS,
        ALL_KINDS,
        properties=REL_PROPS,
        style=EdgeStyle("solid", "#555555", "onormal"),
        same_kind=True,
    ),
    # the last resort, when no relationship above says what is meant
    RelationSpec(
        "associated_with",
        Label("liên quan đến", "associated with"),
        ALL_KINDS,
        ALL_KINDS,
        properties=REL_PROPS,
        style=EdgeStyle("solid", "#999999", "none", 1.0, "none"),
    ),
    # a relationship of an imported model that no relationship above expresses, kept with its type and identifier
    RelationSpec(
        "preserved",
        Label("quan hệ giữ nguyên từ nguồn", "preserved relationship"),
        tuple(k.name for k in KINDS),
        tuple(k.name for k in KINDS),
        properties=(
            _a("source_format", "enum", "Định dạng nguồn", "Source format", values=SOURCE_FORMATS),
            _a("source_type", "str", "Loại quan hệ ở nguồn", "Type in the source", required=True),
            _a("source_id", "str", "Mã định danh ở nguồn", "Identifier in the source"),
            _a("name", "str", "Tên", "Name"),
            _a("documentation", "text", "Tài liệu mô tả", "Documentation"),
            _a("access_type", "str", "Kiểu truy cập", "Access type"),
            SOURCE_PROPERTIES,
        ),
        style=EdgeStyle("dotted", "#8a8a8a", "vee"),
    ),
)

# The four layers of the national digital architecture framework (Decision 3090/QĐ-BKHCN, 2025), in its order, and
# the layer each kind belongs to; an attribute value can place one entity elsewhere (a data centre is infrastructure,
# a public portal an interaction channel). The current-state report (diagrams/report.py) groups its inventory by them.
FRAMEWORK_LAYERS: dict[str, Label] = {
    "infrastructure": Label(
        "Hạ tầng số dùng chung và an toàn, an ninh mạng", "Shared digital infrastructure and cybersecurity"
    ),
    "data_platforms": Label("Dữ liệu và nền tảng cốt lõi", "Data and core platforms"),
    "applications": Label("Ứng dụng dùng chung và chức năng nghiệp vụ", "Shared applications and business functions"),
    "channels": Label("Kênh tương tác", "Interaction channels"),
}
KIND_LAYERS = {
    "node": "infrastructure",
    "database": "data_platforms",
    "dataset": "data_platforms",
    "platform": "data_platforms",
    "service": "data_platforms",
    "system": "applications",
    "capability": "applications",
    "function": "applications",
    "process": "applications",
    "procedure": "applications",
    "actor": "applications",
}
LAYER_BY_VALUE = {  # (kind, attribute, value) -> layer, before KIND_LAYERS
    ("platform", "platform_type", "hosting"): "infrastructure",
    ("platform", "platform_type", "operations_centre"): "applications",
    ("system", "system_type", "infrastructure"): "infrastructure",
    ("system", "system_type", "public_facing"): "channels",
}


def framework_layer(kind: str, attributes: dict[str, Any]) -> str | None:
    """The framework layer (a key of :data:`FRAMEWORK_LAYERS`) of an entity of ``kind``; None for organisations and
    kinds outside the framework (preserved elements)."""
    for (k, name, value), layer in LAYER_BY_VALUE.items():
        if k == kind and attributes.get(name) == value:
            return layer
    return KIND_LAYERS.get(kind)


ROLES = ("admin", "architect", "editor", "auditor", "viewer")
ROLE_LABELS = {
    "admin": Label("Quản trị", "Administrator"),
    "architect": Label("Kiến trúc sư", "Architect"),
    "editor": Label("Biên tập viên đơn vị", "Department editor"),
    "auditor": Label("Kiểm toán", "Auditor"),
    "viewer": Label("Người xem", "Viewer"),
}

EVENT_TYPES = ("create", "rename", "merge", "absorb", "split", "reestablish", "dissolve", "transfer")
EVENT_LABELS = {
    "create": Label("Thành lập", "Create"),
    "rename": Label("Đổi tên", "Rename"),
    "merge": Label("Hợp nhất", "Merge"),
    "absorb": Label("Sáp nhập", "Absorb"),
    "split": Label("Chia tách", "Split"),
    "reestablish": Label("Tái lập", "Re-establish"),
    "dissolve": Label("Giải thể", "Dissolve"),
    "transfer": Label("Chuyển giao chủ quản", "Ownership transfer"),
}


@dataclass(frozen=True)
class Metamodel:
    kinds: dict[str, KindSpec]
    relations: dict[str, RelationSpec]
    roles: tuple[str, ...] = ROLES
    extensions_source: str | None = None
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def kind(self, name: str) -> KindSpec:
        try:
            return self.kinds[name]
        except KeyError:
            raise ValidationFailed(
                [FieldError("kind", msg("kind-unknown", kind=name, allowed=", ".join(self.kinds)))]
            ) from None

    def relation(self, name: str) -> RelationSpec:
        spec = self.relations.get(name)
        if spec is None or spec.derived:
            stored = [r for r, s in self.relations.items() if not s.derived]
            raise ValidationFailed(
                [FieldError("type", msg("relation-type-unknown", type=name, allowed=", ".join(stored)))]
            )
        return spec

    def stored_relations(self) -> list[str]:
        return [r for r, s in self.relations.items() if not s.derived]

    def owned(self, kind: str) -> bool:
        """Whether entities of ``kind`` have an owner organisation (``KindSpec.owned``; False for an unknown kind)."""
        spec = self.kinds.get(kind)
        return spec is not None and spec.owned

    def is_organisation(self, kind: str) -> bool:
        """Whether ``kind`` is an organisation kind (``KindSpec.organisation``): one whose entities own others (the
        targets of ``owned_by``). A kind without an owner need not be one (a capability)."""
        spec = self.kinds.get(kind)
        return spec is not None and spec.organisation


def _load_extensions(path: Path, kinds: dict[str, KindSpec]) -> dict[str, KindSpec]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValidationFailed([FieldError(str(path), msg("extensions-unreadable", error=str(exc)))]) from exc
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError(str(path), msg("extensions-not-mapping"))])
    errors: list[FieldError] = []
    out = dict(kinds)
    for kind_name, attrs in data.items():
        if kind_name not in kinds:
            errors.append(FieldError(f"{path}:{kind_name}", msg("extensions-kind-unknown", kind=str(kind_name))))
            continue
        if not isinstance(attrs, dict):
            errors.append(FieldError(f"{path}:{kind_name}", msg("extensions-kind-not-mapping")))
            continue
        added = []
        for attr_name, decl in attrs.items():
            where = f"{path}:{kind_name}.{attr_name}"
            if not isinstance(decl, dict):
                errors.append(FieldError(where, msg("extensions-declaration-not-mapping")))
                continue
            if kinds[kind_name].attribute(attr_name):
                errors.append(FieldError(where, msg("extensions-already-declared")))
                continue
            type_ = decl.get("type", "str")
            if type_ not in ("str", "text", "int", "bool", "date", "enum", "ref", "list"):
                errors.append(FieldError(where, msg("extensions-type-unknown", type=str(type_))))
                continue
            label = decl.get("label") or {}
            if type_ == "enum" and not decl.get("values"):
                errors.append(FieldError(where, msg("extensions-enum-no-values")))
                continue
            added.append(
                AttributeSpec(
                    name=str(attr_name),
                    type=type_,
                    label=Label(str(label.get("vi", attr_name)), str(label.get("en", attr_name))),
                    required=bool(decl.get("required", False)),
                    values=tuple(str(v) for v in decl.get("values", ())),
                    ref_kinds=tuple(decl.get("ref_kinds", ())),
                    minimum=decl.get("minimum"),
                    maximum=decl.get("maximum"),
                    custom=True,
                )
            )
        k = kinds[kind_name]
        out[kind_name] = replace(k, attributes=k.attributes + tuple(added))
    if errors:
        raise ValidationFailed(errors)
    return out


def load_metamodel(extensions: str | Path | None = None) -> Metamodel:
    """Build the metamodel, with custom attributes from an extensions YAML file when given."""
    kinds = {k.name: k for k in KINDS}
    if extensions:
        kinds = _load_extensions(Path(extensions), kinds)
    return Metamodel(
        kinds=kinds, relations={r.name: r for r in RELATIONS}, extensions_source=str(extensions) if extensions else None
    )


DEFAULT = load_metamodel()
