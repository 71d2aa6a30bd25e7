"""A deterministic synthetic catalog at national scale, for benchmarks and load tests.

The shape follows the 2025 Vietnamese administration: 34 provincial-level units (6 centrally-run cities and 28
provinces, real names with diacritics), each with its people's committee, the 15 specialised departments (Sở) of the
2025 reform plus the six pre-2025 departments that were merged away (so ownership histories move on 2025-03-01), a
provincial integration platform (LGSP), an intelligent operations centre (IOC) and a data centre. Nationally: the
ministries, the national databases of Decree 47/2024 (dân cư, đất đai, ...), their systems and data-sharing services,
the national data-exchange platform (NDXP), V-APEX, VNeID and the national data centre.

Everything else — the bulk of the catalog — is systems, databases and services spread over the 510 provincial
departments (bigger cities get more), wired together the way provinces actually wire them: each system writes and
reads its department's databases and is hosted in the provincial data centre, each database exposes a service that
a system provides and that is published on the LGSP (a few also on the NDXP); then, until relationships reach about
three per entity, cross-department flows through the LGSP (``flows_to`` with protocol, frequency, data and ``via``),
consumption of other departments' and national services, reads of shared and national databases, and feeds into the
provincial IOC.

Every name and attribute is illustrative (``evidence: illustrative``); nothing describes a real system.

    >>> from bench.synthetic import generate
    >>> entities, relationships = generate(entities=5_000)

Same ``entities`` and ``seed``, same catalog, byte for byte (``random.Random(seed)``, no clock, no hash ordering).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from catalog.model import Entity, Relationship, parse_entity, parse_relationship, validate_entity, validate_relationship

DEFAULT_ENTITIES = 100_000
DEFAULT_SEED = 2025
REL_PER_ENTITY = 3.0
HOSTED_SHARE = 0.75  # provincial systems and databases in the provincial data centre (the rest: cloud, on site)
REFORM_DATE = "2025-03-01"  # provincial departments merged (Decree 45/2025/NĐ-CP)
MERGER_DATE = "2025-07-01"  # 63 provinces became 34 (Resolution 202/2025/QH15)
DEPT_BASIS = "Nghị định 45/2025/NĐ-CP"

# (Vietnamese name, unchanged by the 2025 merger, centrally-run city)
PROVINCES: tuple[tuple[str, bool, bool], ...] = (
    ("Hà Nội", True, True),
    ("Huế", True, True),
    ("Hải Phòng", False, True),
    ("Đà Nẵng", False, True),
    ("Thành phố Hồ Chí Minh", False, True),
    ("Cần Thơ", False, True),
    ("Lai Châu", True, False),
    ("Điện Biên", True, False),
    ("Sơn La", True, False),
    ("Lạng Sơn", True, False),
    ("Quảng Ninh", True, False),
    ("Thanh Hóa", True, False),
    ("Nghệ An", True, False),
    ("Hà Tĩnh", True, False),
    ("Cao Bằng", True, False),
    ("Tuyên Quang", False, False),
    ("Lào Cai", False, False),
    ("Thái Nguyên", False, False),
    ("Phú Thọ", False, False),
    ("Bắc Ninh", False, False),
    ("Hưng Yên", False, False),
    ("Ninh Bình", False, False),
    ("Quảng Trị", False, False),
    ("Quảng Ngãi", False, False),
    ("Gia Lai", False, False),
    ("Khánh Hòa", False, False),
    ("Lâm Đồng", False, False),
    ("Đắk Lắk", False, False),
    ("Đồng Nai", False, False),
    ("Tây Ninh", False, False),
    ("Vĩnh Long", False, False),
    ("Đồng Tháp", False, False),
    ("Cà Mau", False, False),
    ("An Giang", False, False),
)
assert len(PROVINCES) == 34

# Relative size of a province's catalog (the rest draw 0.7-1.3).
_PROVINCE_WEIGHT = {"Thành phố Hồ Chí Minh": 3.0, "Hà Nội": 2.5, "Hải Phòng": 1.5, "Đà Nẵng": 1.5, "Cần Thơ": 1.4}

Domain = tuple[str, str]

# The 15 specialised agencies of a province after the 2025 reform: (code, Vietnamese, English, domains).
DEPARTMENTS: tuple[tuple[str, str, str, tuple[Domain, ...]], ...] = (
    (
        "noi-vu",
        "Sở Nội vụ",
        "Department of Home Affairs",
        (
            ("cán bộ công chức viên chức", "civil servants"),
            ("lao động việc làm", "labour and employment"),
            ("người có công", "people with meritorious services"),
            ("thi đua khen thưởng", "emulation and awards"),
        ),
    ),
    (
        "tai-chinh",
        "Sở Tài chính",
        "Department of Finance",
        (
            ("ngân sách", "budget"),
            ("đăng ký doanh nghiệp", "business registration"),
            ("đầu tư công", "public investment"),
            ("tài sản công", "public assets"),
        ),
    ),
    (
        "tu-phap",
        "Sở Tư pháp",
        "Department of Justice",
        (
            ("hộ tịch", "civil status"),
            ("lý lịch tư pháp", "judicial records"),
            ("công chứng", "notarisation"),
            ("văn bản quy phạm pháp luật", "legal documents"),
        ),
    ),
    (
        "cong-thuong",
        "Sở Công Thương",
        "Department of Industry and Trade",
        (
            ("quản lý thị trường", "market surveillance"),
            ("xúc tiến thương mại", "trade promotion"),
            ("năng lượng", "energy"),
            ("thương mại điện tử", "e-commerce"),
        ),
    ),
    (
        "khcn",
        "Sở Khoa học và Công nghệ",
        "Department of Science and Technology",
        (
            ("chuyển đổi số", "digital transformation"),
            ("sở hữu trí tuệ", "intellectual property"),
            ("bưu chính viễn thông", "posts and telecommunications"),
            ("an toàn thông tin", "information security"),
        ),
    ),
    (
        "gd-dt",
        "Sở Giáo dục và Đào tạo",
        "Department of Education and Training",
        (
            ("hồ sơ học sinh", "student records"),
            ("tuyển sinh", "school admissions"),
            ("quản lý trường học", "school management"),
            ("thi cử", "examinations"),
        ),
    ),
    (
        "y-te",
        "Sở Y tế",
        "Department of Health",
        (
            ("khám chữa bệnh", "medical care"),
            ("tiêm chủng", "immunisation"),
            ("hồ sơ sức khỏe điện tử", "electronic health records"),
            ("an toàn thực phẩm", "food safety"),
        ),
    ),
    (
        "vh-tt",
        "Sở Văn hóa và Thể thao",
        "Department of Culture and Sports",
        (
            ("di sản văn hóa", "cultural heritage"),
            ("thể dục thể thao", "sports"),
            ("thư viện", "libraries"),
            ("gia đình", "family affairs"),
        ),
    ),
    (
        "du-lich",
        "Sở Du lịch",
        "Department of Tourism",
        (
            ("lưu trú du lịch", "tourist accommodation"),
            ("điểm đến", "destinations"),
            ("hướng dẫn viên", "tour guides"),
            ("thống kê du lịch", "tourism statistics"),
        ),
    ),
    (
        "nn-mt",
        "Sở Nông nghiệp và Môi trường",
        "Department of Agriculture and Environment",
        (
            ("đất đai", "land administration"),
            ("tài nguyên nước", "water resources"),
            ("quan trắc môi trường", "environmental monitoring"),
            ("trồng trọt và chăn nuôi", "crops and livestock"),
        ),
    ),
    (
        "xay-dung",
        "Sở Xây dựng",
        "Department of Construction",
        (
            ("cấp phép xây dựng", "building permits"),
            ("giao thông", "transport"),
            ("quy hoạch đô thị", "urban planning"),
            ("nhà ở", "housing"),
        ),
    ),
    (
        "dan-toc-ton-giao",
        "Sở Dân tộc và Tôn giáo",
        "Department of Ethnic and Religious Affairs",
        (
            ("công tác dân tộc", "ethnic affairs"),
            ("tôn giáo", "religious affairs"),
            ("chính sách dân tộc", "ethnic policy"),
            ("cơ sở tôn giáo", "places of worship"),
        ),
    ),
    (
        "ngoai-vu",
        "Sở Ngoại vụ",
        "Department of Foreign Affairs",
        (
            ("đoàn ra đoàn vào", "official delegations"),
            ("người Việt Nam ở nước ngoài", "overseas Vietnamese"),
            ("hợp tác quốc tế", "international cooperation"),
            ("lãnh sự", "consular affairs"),
        ),
    ),
    (
        "thanh-tra",
        "Thanh tra",
        "Inspectorate",
        (
            ("khiếu nại tố cáo", "complaints and denunciations"),
            ("tiếp công dân", "citizen reception"),
            ("phòng chống tham nhũng", "anti-corruption"),
            ("kết luận thanh tra", "inspection findings"),
        ),
    ),
    (
        "van-phong",
        "Văn phòng Ủy ban nhân dân",
        "Office of the People's Committee",
        (
            ("quản lý văn bản và điều hành", "document management and executive"),
            ("một cửa điện tử", "one-stop shop"),
            ("phản ánh kiến nghị", "citizen feedback"),
            ("báo cáo kinh tế xã hội", "socio-economic reporting"),
        ),
    ),
)
assert len(DEPARTMENTS) == 15

# Departments merged away on 2025-03-01: (code, Vietnamese, English, successor department code).
LEGACY_DEPARTMENTS: tuple[tuple[str, str, str, str], ...] = (
    ("tt-tt", "Sở Thông tin và Truyền thông", "Department of Information and Communications", "khcn"),
    ("kh-dt", "Sở Kế hoạch và Đầu tư", "Department of Planning and Investment", "tai-chinh"),
    ("ld-tbxh", "Sở Lao động - Thương binh và Xã hội", "Department of Labour, Invalids and Social Affairs", "noi-vu"),
    ("gtvt", "Sở Giao thông vận tải", "Department of Transport", "xay-dung"),
    ("tn-mt", "Sở Tài nguyên và Môi trường", "Department of Natural Resources and Environment", "nn-mt"),
    ("nn-ptnt", "Sở Nông nghiệp và Phát triển nông thôn", "Department of Agriculture and Rural Development", "nn-mt"),
)

# (code, Vietnamese, English, org_type)
MINISTRIES: tuple[tuple[str, str, str, str], ...] = (
    ("vn-bca", "Bộ Công an", "Ministry of Public Security", "ministry"),
    ("vn-bqp", "Bộ Quốc phòng", "Ministry of National Defence", "ministry"),
    ("vn-bng", "Bộ Ngoại giao", "Ministry of Foreign Affairs", "ministry"),
    ("vn-bnv", "Bộ Nội vụ", "Ministry of Home Affairs", "ministry"),
    ("vn-btp", "Bộ Tư pháp", "Ministry of Justice", "ministry"),
    ("vn-btc", "Bộ Tài chính", "Ministry of Finance", "ministry"),
    ("vn-bct", "Bộ Công Thương", "Ministry of Industry and Trade", "ministry"),
    ("vn-bnnmt", "Bộ Nông nghiệp và Môi trường", "Ministry of Agriculture and Environment", "ministry"),
    ("vn-bxd", "Bộ Xây dựng", "Ministry of Construction", "ministry"),
    ("vn-bvhttdl", "Bộ Văn hóa, Thể thao và Du lịch", "Ministry of Culture, Sports and Tourism", "ministry"),
    ("vn-bkhcn", "Bộ Khoa học và Công nghệ", "Ministry of Science and Technology", "ministry"),
    ("vn-bgddt", "Bộ Giáo dục và Đào tạo", "Ministry of Education and Training", "ministry"),
    ("vn-byt", "Bộ Y tế", "Ministry of Health", "ministry"),
    ("vn-bdttg", "Bộ Dân tộc và Tôn giáo", "Ministry of Ethnic and Religious Affairs", "ministry"),
    ("vn-nhnn", "Ngân hàng Nhà nước Việt Nam", "State Bank of Vietnam", "ministry"),
    ("vn-ttcp", "Thanh tra Chính phủ", "Government Inspectorate", "ministry"),
    ("vn-vpcp", "Văn phòng Chính phủ", "Government Office", "ministry"),
    ("vn-bhxh", "Bảo hiểm xã hội Việt Nam", "Vietnam Social Security", "agency"),
)

# National databases: (code, Vietnamese, English, owner ministry, personal data, departments that read it most).
NATIONAL_DATABASES: tuple[tuple[str, str, str, str, str], ...] = (
    ("csdlqg-dan-cu", "Cơ sở dữ liệu quốc gia về dân cư", "National population database", "vn-bca", "sensitive"),
    ("csdlqg-dat-dai", "Cơ sở dữ liệu quốc gia về đất đai", "National land database", "vn-bnnmt", "basic"),
    (
        "csdlqg-dkdn",
        "Cơ sở dữ liệu quốc gia về đăng ký doanh nghiệp",
        "National business registration database",
        "vn-btc",
        "basic",
    ),
    ("csdlqg-tai-chinh", "Cơ sở dữ liệu quốc gia về tài chính", "National finance database", "vn-btc", "none"),
    ("csdlqg-bao-hiem", "Cơ sở dữ liệu quốc gia về bảo hiểm", "National insurance database", "vn-bhxh", "sensitive"),
    (
        "csdlqg-cbccvc",
        "Cơ sở dữ liệu quốc gia về cán bộ, công chức, viên chức",
        "National civil servants database",
        "vn-bnv",
        "basic",
    ),
    (
        "csdlqg-tthc",
        "Cơ sở dữ liệu quốc gia về thủ tục hành chính",
        "National administrative procedures database",
        "vn-vpcp",
        "none",
    ),
    (
        "csdlqg-xay-dung",
        "Cơ sở dữ liệu quốc gia về hoạt động xây dựng",
        "National construction activity database",
        "vn-bxd",
        "none",
    ),
    ("csdlqg-xnc", "Cơ sở dữ liệu quốc gia về xuất nhập cảnh", "National immigration database", "vn-bca", "sensitive"),
    ("csdlqg-tong-hop", "Cơ sở dữ liệu tổng hợp quốc gia", "National aggregate database", "vn-bca", "sensitive"),
    (
        "csdl-ho-tich",
        "Cơ sở dữ liệu hộ tịch điện tử toàn quốc",
        "National electronic civil-status database",
        "vn-btp",
        "sensitive",
    ),
    ("csdl-y-te", "Cơ sở dữ liệu y tế quốc gia", "National health database", "vn-byt", "sensitive"),
    ("csdl-giao-duc", "Cơ sở dữ liệu ngành giáo dục", "National education database", "vn-bgddt", "basic"),
)

SYSTEM_NAMES: tuple[tuple[str, str], ...] = (
    ("Hệ thống quản lý {vi}", "{en} management system"),
    ("Phần mềm {vi}", "{en} software"),
    ("Cổng thông tin {vi}", "{en} portal"),
    ("Ứng dụng di động {vi}", "{en} mobile app"),
    ("Hệ thống báo cáo {vi}", "{en} reporting system"),
    ("Hệ thống giám sát {vi}", "{en} monitoring system"),
    ("Hệ thống tra cứu {vi}", "{en} lookup system"),
)
DATABASE_NAMES: tuple[tuple[str, str], ...] = (
    ("Cơ sở dữ liệu {vi}", "{en} database"),
    ("Kho dữ liệu {vi}", "{en} data warehouse"),
    ("Cơ sở dữ liệu chuyên ngành {vi}", "{en} sectoral database"),
)
SERVICE_NAMES: tuple[tuple[str, str], ...] = (
    ("Dịch vụ chia sẻ dữ liệu {vi}", "{en} data-sharing service"),
    ("API tra cứu {vi}", "{en} lookup API"),
    ("Dịch vụ đồng bộ dữ liệu {vi}", "{en} synchronisation service"),
    ("Dịch vụ tiếp nhận hồ sơ {vi}", "{en} dossier intake service"),
)
VENDORS = ("VNPT", "Viettel", "FPT IS", "CMC", "MISA", "Mobifone", "Hanoi Telecom", "Lạc Việt", "DTT", "BKAV")
ENGINES = ("PostgreSQL", "Oracle", "SQL Server", "MySQL", "MongoDB", "MariaDB")
DATA_CARRIED = (
    "hồ sơ thủ tục hành chính",
    "danh mục dùng chung",
    "thông tin công dân",
    "thông tin doanh nghiệp",
    "báo cáo thống kê",
    "văn bản điện tử",
    "dữ liệu camera",
    "dữ liệu quan trắc",
    "kết quả giải quyết",
    "phản ánh kiến nghị",
)

# Asset kinds in a department, cycled: 3 systems, 2 databases, 3 services in every 8.
_PATTERN = ("system", "database", "service", "system", "service", "database", "system", "service")


def ascii_name(text: str) -> str:
    """Strip diacritics but keep case and spaces: 'Đắk Lắk' -> 'Dak Lak'."""
    text = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _weighted(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    x = rng.random() * sum(w for _, w in pairs)
    for value, w in pairs:
        x -= w
        if x < 0:
            return value
    return pairs[-1][0]


_LIFECYCLE_W = (("production", 70.0), ("building", 10.0), ("planned", 5.0), ("retiring", 10.0), ("retired", 5.0))


@dataclass
class _Province:
    index: int
    code: str
    name: str
    city: bool
    org: str
    lgsp: str
    ioc: str
    dc: str
    place: str = ""  # "thành phố Đà Nẵng", "tỉnh Lào Cai"
    place_en: str = ""
    host: str = ""  # for illustrative URLs
    depts: dict[str, str] = field(default_factory=dict)  # department code -> ref, legacy ones included
    departments: list[str] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)
    shared_dbs: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)


class _Builder:
    """Accumulates entity and relationship dicts; relationships are unique by id and their endpoints exist."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.entities: list[dict[str, Any]] = []
        self.refs: set[str] = set()
        self.relationships: list[dict[str, Any]] = []
        self.rel_ids: set[str] = set()

    def entity(
        self,
        kind: str,
        code: str,
        vi: str,
        en: str,
        attributes: dict[str, Any],
        *,
        owner: str | list[dict[str, Any]] | None = None,
        description: str = "",
        tags: Iterable[str] = (),
        valid_from: str | None = None,
        valid_to: str | None = None,
    ) -> str:
        ref = f"{kind}:{code}"
        assert ref not in self.refs, ref
        d: dict[str, Any] = {
            "kind": kind,
            "code": code,
            "name": {"vi": vi, "en": en},
            "attributes": dict(sorted(attributes.items())),
        }
        if description:
            d["description"] = {"vi": description, "en": ""}
        if isinstance(owner, str):
            d["owner_history"] = [{"org": owner}]
        elif owner:
            d["owner_history"] = owner
        if tags:
            d["tags"] = sorted(set(tags))
        if valid_from:
            d["valid_from"] = valid_from
        if valid_to:
            d["valid_to"] = valid_to
        self.entities.append(d)
        self.refs.add(ref)
        return ref

    def rel(self, type_: str, source: str, target: str, **properties: Any) -> bool:
        rid = f"{source}>{type_}>{target}"
        if source == target or rid in self.rel_ids:
            return False
        self.rel_ids.add(rid)
        d: dict[str, Any] = {"type": type_, "source": source, "target": target}
        if properties:
            d["properties"] = dict(sorted(properties.items()))
        self.relationships.append(d)
        return True


def _allocate(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder, ties by position)."""
    if total <= 0:
        return [0] * len(weights)
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def _org_attrs(org_type: str, short: str = "", parent: str | None = None, status: str = "active") -> dict:
    a: dict[str, Any] = {"evidence": "illustrative", "org_type": org_type, "status": status}
    if short:
        a["short_name"] = short
    if parent:
        a["parent"] = parent
    return a


def _platform_attrs(ptype: str, subtype: str, scope: str, level: int) -> dict:
    return {
        "evidence": "illustrative",
        "lifecycle": "production",
        "platform_type": ptype,
        "platform_subtype": subtype,
        "scope": scope,
        "security_level": level,
        "security_status": "approved",
    }


def fixed_entity_count() -> int:
    """Entities generated whatever the scale: national bodies and the per-province skeleton."""
    national = len(MINISTRIES) + 3 * len(NATIONAL_DATABASES) + 5 + 1 + 1  # + platforms, portal system, VNeID service
    province = 1 + len(DEPARTMENTS) + len(LEGACY_DEPARTMENTS) + 3
    return national + len(PROVINCES) * province


def rows(entities: int = DEFAULT_ENTITIES, seed: int = DEFAULT_SEED) -> tuple[list[dict], list[dict]]:
    """The synthetic catalog as plain dicts (native-format shape): ``(entities, relationships)``.

    ``entities`` is the total number of entities (at least :func:`fixed_entity_count`); relationships come to about
    ``REL_PER_ENTITY`` times as many.
    """
    floor = fixed_entity_count()
    if entities < floor:
        raise ValueError(f"entities must be at least {floor} (the national and provincial skeleton)")
    rng = random.Random(seed)
    b = _Builder(rng)

    # --- national -------------------------------------------------------------------------------------------------
    for code, vi, en, org_type in MINISTRIES:
        b.entity("organization", code, vi, en, _org_attrs(org_type), tags=["national"])
    ndc = b.entity(
        "platform",
        "vn-ttdlqg",
        "Trung tâm dữ liệu quốc gia",
        "National Data Centre",
        _platform_attrs("hosting", "data_centre", "national", 5),
        owner="organization:vn-bca",
        tags=["national"],
    )
    ndxp = b.entity(
        "platform",
        "vn-ndxp",
        "Nền tảng tích hợp, chia sẻ dữ liệu quốc gia (NDXP)",
        "National Data Exchange Platform (NDXP)",
        _platform_attrs("integration", "ndxp", "national", 4),
        owner="organization:vn-bkhcn",
        tags=["national"],
    )
    vapex = b.entity(
        "platform",
        "vn-vapex",
        "Nền tảng API quốc gia V-APEX",
        "National API platform V-APEX",
        _platform_attrs("integration", "api_gateway", "national", 4),
        owner="organization:vn-bkhcn",
        tags=["national"],
    )
    vneid = b.entity(
        "platform",
        "vn-vneid",
        "Hệ thống định danh và xác thực điện tử VNeID",
        "VNeID electronic identification",
        _platform_attrs("identity", "vneid", "national", 5),
        owner="organization:vn-bca",
        tags=["national"],
    )
    axis = b.entity(
        "platform",
        "vn-truc-lien-thong",
        "Trục liên thông văn bản quốc gia",
        "National document-exchange axis",
        _platform_attrs("integration", "esb", "national", 4),
        owner="organization:vn-vpcp",
        tags=["national"],
    )
    portal = b.entity(
        "system",
        "vn-dvcqg",
        "Cổng Dịch vụ công quốc gia",
        "National Public Service Portal",
        {
            "criticality": "critical",
            "evidence": "illustrative",
            "lifecycle": "production",
            "security_level": 4,
            "security_status": "approved",
            "system_type": "public_facing",
            "url": "https://dichvucong.gov.vn",
        },
        owner="organization:vn-vpcp",
        tags=["national"],
    )
    vneid_svc = b.entity(
        "service",
        "vn-vneid-xac-thuc",
        "Dịch vụ xác thực định danh điện tử VNeID",
        "VNeID authentication service",
        {"authentication": "oauth2", "evidence": "illustrative", "lifecycle": "production", "protocol": "rest"},
        owner="organization:vn-bca",
        tags=["national"],
    )
    for p in (ndxp, vapex, vneid, axis, portal):
        b.rel("hosted_on", p, ndc)
    b.rel("federates_with", vapex, ndxp, status="active")
    b.rel("federates_with", axis, ndxp, status="active")
    b.rel("provides", vneid, vneid_svc)
    b.rel("published_on", vneid_svc, ndxp)
    b.rel("consumes", portal, vneid_svc, via=ndxp)
    national_services = [vneid_svc]
    national_dbs = []
    for code, vi, en, owner_code, personal in NATIONAL_DATABASES:
        owner = f"organization:{owner_code}"
        topic = vi.replace("Cơ sở dữ liệu ", "")
        topic_en = en.replace(" database", "").replace("National ", "")
        db = b.entity(
            "database",
            code,
            vi,
            en,
            {
                "data_class": "core",
                "data_owner": owner,
                "engine": rng.choice(ENGINES),
                "evidence": "illustrative",
                "lifecycle": "production",
                "personal_data": personal,
                "scope": "national",
                "security_level": 4,
                "sharing": "shared",
                "update_frequency": "realtime",
            },
            owner=owner,
            tags=["national"],
        )
        sys_ = b.entity(
            "system",
            f"{code}-httt",
            f"Hệ thống thông tin {topic}",
            f"{topic_en} information system",
            {
                "criticality": "critical",
                "evidence": "illustrative",
                "lifecycle": "production",
                "security_level": 4,
                "security_status": "approved",
                "system_type": "infrastructure",
            },
            owner=owner,
            tags=["national"],
        )
        svc = b.entity(
            "service",
            f"{code}-api",
            f"Dịch vụ khai thác {topic}",
            f"{topic_en} data-sharing service",
            {
                "authentication": "mtls",
                "evidence": "illustrative",
                "lifecycle": "production",
                "protocol": rng.choice(("rest", "soap", "edxml")),
            },
            owner=owner,
            tags=["national"],
        )
        b.rel("writes", sys_, db, frequency="realtime", status="active")
        b.rel("hosted_on", sys_, ndc)
        b.rel("hosted_on", db, ndc)
        b.rel("exposes", db, svc)
        b.rel("provides", sys_, svc)
        b.rel("published_on", svc, ndxp)
        if rng.random() < 0.5:
            b.rel("published_on", svc, vapex)
        national_services.append(svc)
        national_dbs.append(db)

    # --- provincial skeleton --------------------------------------------------------------------------------------
    provinces: list[_Province] = []
    for i, (name, unchanged, city) in enumerate(PROVINCES, start=1):
        pcode = f"p{i:02d}"
        place = name if name.startswith("Thành phố") else (f"thành phố {name}" if city else f"tỉnh {name}")
        place_en = ascii_name(name).replace("Thanh pho ", "") + (" City" if city else " Province")
        if name == "Thành phố Hồ Chí Minh":
            place_en = "Ho Chi Minh City"
        host = ascii_name(name).lower().replace("thanh pho ", "").replace(" ", "")
        org = b.entity(
            "organization",
            pcode,
            f"Ủy ban nhân dân {place}",
            f"{place_en} People's Committee",
            _org_attrs("city" if city else "province", short=name),
            tags=["provincial-level"],
            valid_from=None if unchanged else MERGER_DATE,
        )
        p = _Province(i, pcode, name, city, org, lgsp="", ioc="", dc="", place=place, place_en=place_en, host=host)
        depts = p.depts
        for dcode, dvi, den, _ in DEPARTMENTS:
            ref = b.entity(
                "organization",
                f"{pcode}-{dcode}",
                f"{dvi} {place}",
                f"{place_en} {den}",
                _org_attrs("department", parent=org),
                valid_from=REFORM_DATE,
                tags=[pcode],
            )
            depts[dcode] = ref
            p.departments.append(ref)
            b.rel("part_of", ref, org)
        for lcode, lvi, len_, successor in LEGACY_DEPARTMENTS:
            ref = b.entity(
                "organization",
                f"{pcode}-{lcode}",
                f"{lvi} {place}",
                f"{place_en} {len_}",
                _org_attrs("department", parent=org, status="merged"),
                valid_to=REFORM_DATE,
                tags=[pcode, "legacy"],
            )
            depts[lcode] = ref
            b.rel("successor_of", depts[successor], ref, legal_basis=DEPT_BASIS)
        khcn = depts["khcn"]
        p.dc = b.entity(
            "platform",
            f"{pcode}-ttdl",
            f"Trung tâm dữ liệu {place}",
            f"{place_en} data centre",
            _platform_attrs("hosting", "data_centre", "provincial", 4),
            owner=khcn,
            tags=[pcode],
        )
        p.lgsp = b.entity(
            "platform",
            f"{pcode}-lgsp",
            f"Nền tảng tích hợp, chia sẻ dữ liệu (LGSP) {place}",
            f"{place_en} integration platform (LGSP)",
            _platform_attrs("integration", "lgsp", "provincial", 3),
            owner=khcn,
            tags=[pcode],
        )
        p.ioc = b.entity(
            "platform",
            f"{pcode}-ioc",
            f"Trung tâm giám sát, điều hành đô thị thông minh (IOC) {place}",
            f"{place_en} intelligent operations centre (IOC)",
            _platform_attrs("operations_centre", "city_ioc", "provincial", 3),
            owner=khcn,
            tags=[pcode, "ioc"],
        )
        b.rel("hosted_on", p.lgsp, p.dc)
        b.rel("hosted_on", p.ioc, p.dc)
        b.rel("federates_with", p.lgsp, ndxp, protocol="rest", status="active")
        b.rel("feeds", p.lgsp, p.ioc, frequency="realtime", status="active")
        provinces.append(p)

    # --- the bulk: assets per department ---------------------------------------------------------------------------
    weights: list[float] = []
    for p in provinces:
        pw = _PROVINCE_WEIGHT.get(p.name) or rng.uniform(0.7, 1.3)
        for _ in DEPARTMENTS:
            weights.append(pw * rng.uniform(0.5, 1.5))
    counts = _allocate(entities - len(b.entities), weights)
    merged_from = {}
    for lcode, _, _, successor in LEGACY_DEPARTMENTS:
        merged_from.setdefault(successor, []).append(lcode)

    slot = 0
    for p in provinces:
        depts, place, place_en, host = p.depts, p.place, p.place_en, p.host
        short = p.name.replace("Thành phố ", "TP ")
        for dcode, dvi, _den, domains in DEPARTMENTS:
            n = counts[slot]
            slot += 1
            dept = depts[dcode]
            systems: list[str] = []
            dbs: list[str] = []
            svcs: list[str] = []
            for k in range(n):
                kind = _PATTERN[k % len(_PATTERN)]
                dom_vi, dom_en = domains[k % len(domains)]
                phase = k // (len(_PATTERN) * len(domains)) + 1
                suffix_vi = f" giai đoạn {phase}" if phase > 1 else ""
                suffix_en = f" phase {phase}" if phase > 1 else ""
                code = f"{p.code}-{dcode}-{k + 1:04d}"
                # ownership: assets of merged departments moved on 2025-03-01
                if dcode in merged_from and rng.random() < 0.4:
                    legacy = depts[rng.choice(merged_from[dcode])]
                    owner: Any = [
                        {"org": legacy, "end": REFORM_DATE},
                        {"org": dept, "start": REFORM_DATE, "basis": DEPT_BASIS},
                    ]
                else:
                    owner = dept
                tags = [p.code] + (["chuyen-doi-so"] if rng.random() < 0.1 else [])
                if kind == "system":
                    tvi, ten = SYSTEM_NAMES[(k // len(domains)) % len(SYSTEM_NAMES)]
                    attrs: dict[str, Any] = {
                        "criticality": rng.choice(("low", "medium", "medium", "high", "critical")),
                        "evidence": "illustrative",
                        "lifecycle": _weighted(rng, _LIFECYCLE_W),
                        "system_type": rng.choice(("internal", "internal", "public_facing", "infrastructure")),
                        "hosting": f"Trung tâm dữ liệu {place}",
                        "vendor": rng.choice(VENDORS),
                        "users": rng.randrange(10, 50_000),
                        "url": f"https://{dcode}.{host}.gov.vn/{k + 1:04d}",
                        "last_reviewed": f"202{rng.randrange(3, 6)}-{rng.randrange(1, 13):02d}-"
                        f"{rng.randrange(1, 29):02d}",
                    }
                    if rng.random() < 0.85:
                        attrs["security_level"] = rng.randrange(1, 6)
                        attrs["security_status"] = "approved" if rng.random() < 0.7 else "proposed"
                    ref = b.entity(
                        "system",
                        code,
                        f"{tvi.format(vi=dom_vi)}{suffix_vi} - {short}",
                        f"{ten.format(en=dom_en).capitalize()}{suffix_en}, {place_en}",
                        attrs,
                        owner=owner,
                        tags=tags,
                        description=f"Phục vụ {dom_vi} của {dvi} {place}" if rng.random() < 0.3 else "",
                    )
                    systems.append(ref)
                elif kind == "database":
                    tvi, ten = DATABASE_NAMES[(k // len(domains)) % len(DATABASE_NAMES)]
                    scope = _weighted(
                        rng, (("internal", 45.0), ("shared", 35.0), ("sectoral", 15.0), ("warehouse", 5.0))
                    )
                    attrs = {
                        "data_class": rng.choice(("core", "important", "other", "other")),
                        "data_owner": dept,
                        "engine": rng.choice(ENGINES),
                        "evidence": "illustrative",
                        "lifecycle": _weighted(rng, _LIFECYCLE_W),
                        "personal_data": rng.choice(("none", "none", "basic", "sensitive")),
                        "scope": scope,
                        "sharing": "shared" if scope in ("shared", "warehouse") else rng.choice(("internal", "open")),
                        "update_frequency": rng.choice(("realtime", "daily", "weekly", "monthly", "ad_hoc")),
                    }
                    if rng.random() < 0.8:
                        attrs["security_level"] = rng.randrange(1, 6)
                    ref = b.entity(
                        "database",
                        code,
                        f"{tvi.format(vi=dom_vi)}{suffix_vi} - {short}",
                        f"{ten.format(en=dom_en).capitalize()}{suffix_en}, {place_en}",
                        attrs,
                        owner=owner,
                        tags=tags,
                    )
                    dbs.append(ref)
                    if scope in ("shared", "warehouse"):
                        p.shared_dbs.append(ref)
                else:
                    tvi, ten = SERVICE_NAMES[(k // len(domains)) % len(SERVICE_NAMES)]
                    attrs = {
                        "authentication": rng.choice(("api_key", "oauth2", "oauth2", "mtls", "basic")),
                        "endpoint": f"https://lgsp.{host}.gov.vn/{dcode}/v1/{k + 1:04d}",
                        "evidence": "illustrative",
                        "lifecycle": _weighted(rng, _LIFECYCLE_W),
                        "protocol": rng.choice(("rest", "rest", "rest", "soap", "edxml", "file")),
                    }
                    ref = b.entity(
                        "service",
                        code,
                        f"{tvi.format(vi=dom_vi)}{suffix_vi} - {short}",
                        f"{ten.format(en=dom_en).capitalize()}{suffix_en}, {place_en}",
                        attrs,
                        owner=owner,
                        tags=tags,
                    )
                    svcs.append(ref)
            # structural relationships of the department
            for i, s in enumerate(systems):
                if rng.random() < HOSTED_SHARE:
                    b.rel("hosted_on", s, p.dc)
                if dbs:
                    b.rel("writes", s, dbs[i % len(dbs)], frequency=rng.choice(("realtime", "daily")), status="active")
                    if len(dbs) > 1 and rng.random() < 0.15:
                        b.rel("reads", s, dbs[(i + 1) % len(dbs)], status="active")
            for i, d in enumerate(dbs):
                if rng.random() < HOSTED_SHARE:
                    b.rel("hosted_on", d, p.dc)
                if svcs:
                    b.rel("exposes", d, svcs[i % len(svcs)])
            for i, v in enumerate(svcs):
                b.rel("provides", systems[i % len(systems)] if systems else dept, v)
                b.rel("published_on", v, p.lgsp, status="active")
                if rng.random() < 0.1:
                    b.rel("published_on", v, ndxp, status="active")
            p.systems += systems
            p.databases += dbs
            p.services += svcs

    # --- cross-cutting relationships until ~REL_PER_ENTITY per entity ---------------------------------------------
    # Dependencies converge on hubs, as in a real province: national databases and services through the NDXP, the
    # IOC, the shared databases, V-APEX. Point-to-point system links are a minority, so that a random system's outage
    # hits tens of things, while a data centre, an LGSP or the NDXP hits thousands.
    target = round(REL_PER_ENTITY * entities)
    all_systems = [(s, p) for p in provinces for s in p.systems]
    all_dbs = [(d, p) for p in provinces for d in p.databases]
    all_svcs = [s for p in provinces for s in p.services]
    attempts = 0
    while all_systems and len(b.relationships) < target and attempts < 20 * target:
        attempts += 1
        src, p = all_systems[rng.randrange(len(all_systems))]
        x = rng.random()
        if x < 0.20:  # reads a national database through the NDXP
            b.rel("reads", src, national_dbs[rng.randrange(len(national_dbs))], status="active", via=ndxp)
        elif x < 0.35:  # consumes a national service
            b.rel("consumes", src, national_services[rng.randrange(len(national_services))], status="active", via=ndxp)
        elif x < 0.55:  # feeds the provincial IOC (a system, or one of the province's databases)
            if rng.random() < 0.3 and all_dbs:
                src, p = all_dbs[rng.randrange(len(all_dbs))]
            b.rel("feeds", src, p.ioc, frequency=rng.choice(("realtime", "hourly", "daily")), status="active")
        elif x < 0.65:  # pushes data into a shared database or warehouse of the province
            if p.shared_dbs:
                b.rel("flows_to", src, p.shared_dbs[rng.randrange(len(p.shared_dbs))], **_flow(rng, p.lgsp))
        elif x < 0.73:  # point to point: another system, through the LGSP (or the NDXP across provinces)
            if rng.random() < 0.9:
                dst = p.systems[rng.randrange(len(p.systems))]
                b.rel("flows_to", src, dst, **_flow(rng, None if rng.random() < 0.15 else p.lgsp))
            else:
                q = provinces[rng.randrange(len(provinces))]
                if q.systems:
                    b.rel("flows_to", src, q.systems[rng.randrange(len(q.systems))], **_flow(rng, ndxp))
        elif x < 0.80:  # consumes another department's service through the LGSP
            if p.services:
                b.rel("consumes", src, p.services[rng.randrange(len(p.services))], status="active", via=p.lgsp)
        elif x < 0.87:  # reads a shared database of the province through the LGSP
            if p.shared_dbs:
                b.rel("reads", src, p.shared_dbs[rng.randrange(len(p.shared_dbs))], status="active", via=p.lgsp)
        elif all_svcs:  # a provincial service also published on V-APEX
            b.rel("published_on", all_svcs[rng.randrange(len(all_svcs))], vapex, status="active")
    return b.entities, b.relationships


def _flow(rng: random.Random, via: str | None) -> dict[str, Any]:
    """Properties of a ``flows_to``: through a platform (``via``) or a direct link."""
    props: dict[str, Any] = {
        "data": rng.choice(DATA_CARRIED),
        "frequency": rng.choice(("realtime", "hourly", "daily", "daily")),
        "protocol": rng.choice(("rest", "rest", "soap", "edxml")) if via else rng.choice(("db_link", "sftp")),
        "status": "active" if rng.random() < 0.9 else "planned",
    }
    if via:
        props["via"] = via
    return props


def generate(
    entities: int = DEFAULT_ENTITIES, seed: int = DEFAULT_SEED, validate: bool | int = 1000
) -> tuple[list[Entity], list[Relationship]]:
    """The synthetic catalog as models: ``(entities, relationships)``.

    Models are built with pydantic ``model_validate`` (structure checked); the metamodel check
    (:func:`catalog.model.validate_entity` / :func:`validate_relationship`, through ``parse_*`` as importers do) runs
    on every ``validate``-th row when ``validate`` is a number (and the result must be unchanged), on every row when
    ``validate`` is True, and never when False.
    """
    ent_rows, rel_rows = rows(entities, seed)
    step = 1 if validate is True else int(validate)
    sample_e = ent_rows[::step] if step else []
    sample_r = rel_rows[::step] if step else []
    # convert in place so that the dicts are freed as the models are built (halves peak memory)
    ents: list[Any] = ent_rows
    for i, d in enumerate(ent_rows):
        ents[i] = Entity.model_validate(d)
    rels: list[Any] = rel_rows
    for i, d in enumerate(rel_rows):
        rels[i] = Relationship.model_validate(d)
    if step:
        check(ents[::step], rels[::step], sample_e, sample_r)
    return ents, rels


def check(
    entities: list[Entity],
    relationships: list[Relationship],
    ent_rows: list[dict] | None = None,
    rel_rows: list[dict] | None = None,
) -> None:
    """Raise if any model differs from what the importer path (``parse_*`` then ``validate_*``) makes of it."""
    for i, e in enumerate(entities):
        v = validate_entity(parse_entity(ent_rows[i] if ent_rows else e.model_dump(mode="json")))
        if v != e:
            raise AssertionError(f"{e.ref}: generated entity is not in canonical form")
    for i, r in enumerate(relationships):
        v = validate_relationship(parse_relationship(rel_rows[i] if rel_rows else r.model_dump(mode="json")))
        if v != r:
            raise AssertionError(f"{r.id}: generated relationship is not in canonical form")


__all__ = [
    "DEFAULT_ENTITIES",
    "DEFAULT_SEED",
    "DEPARTMENTS",
    "PROVINCES",
    "check",
    "fixed_entity_count",
    "generate",
    "rows",
]
