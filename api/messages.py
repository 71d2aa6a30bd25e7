"""Problem titles and the API's own messages in Vietnamese and English, keyed by error code: one small table.

:func:`choose_lang` picks the language of a response from ``Accept-Language`` (q-values honoured), falling back to
the ``lang`` setting. Reasons that come from the catalog's validation name the field and are passed through as they
are; the common request-validation reasons (pydantic error types) are translated here.
"""

from __future__ import annotations

import re

from catalog.orgs import EVENT_REASONS
from catalog.services import CHANGE_REASONS
from catalog.text import TEXT_REASONS

# code -> (vi, en) title
TITLES: dict[str, tuple[str, str]] = {
    "validation-failed": ("Dữ liệu không hợp lệ", "Validation failed"),
    "not-found": ("Không tìm thấy", "Not found"),
    "already-exists": ("Đã tồn tại", "Already exists"),
    "version-conflict": ("Phiên bản đã cũ", "Precondition failed: stale version"),
    "precondition-required": ("Thiếu If-Match", "Precondition required"),
    "bad-if-match": ("If-Match không hợp lệ", "Malformed If-Match"),
    "integrity": ("Vi phạm ràng buộc tham chiếu", "Integrity violation"),
    "permission-denied": ("Không có quyền", "Permission denied"),
    "unauthenticated": ("Chưa xác thực", "Unauthenticated"),
    "store-error": ("Kho dữ liệu tạm thời không sẵn sàng", "Store unavailable"),
    "store-full": ("Ổ đĩa chứa kho dữ liệu đã đầy", "Store full: no disk space left"),
    "backup-failed": ("Không chứng minh được bản sao lưu", "Backup could not be proved"),
    "restore-refused": ("Từ chối khôi phục đè lên danh mục đang có dữ liệu",
                        "Restore refused: the catalog is not empty"),
    "body-too-large": ("Nội dung yêu cầu quá lớn", "Request body too large"),
    "malformed-json": ("JSON không hợp lệ", "Malformed JSON"),
    "method-not-allowed": ("Phương thức không được hỗ trợ", "Method not allowed"),
    "not-acceptable": ("Không hỗ trợ định dạng", "Not acceptable"),
    "unsupported-media-type": ("Kiểu nội dung không được hỗ trợ", "Unsupported media type"),
    "http-error": ("Lỗi yêu cầu", "Request error"),
    "catalog-error": ("Yêu cầu không hợp lệ", "Bad request"),
    "internal-error": ("Lỗi nội bộ", "Internal error"),
    "too-many-attempts": ("Quá nhiều lần đăng nhập sai", "Too many failed sign-in attempts"),
}

# code -> (vi, en) detail for errors the API raises itself (placeholders filled with str.format)
DETAILS: dict[str, tuple[str, str]] = {
    "precondition-required": ("Cần gửi tiêu đề If-Match với ETag hiện tại của tài nguyên (đọc bằng GET trước).",
                              "Send an If-Match header with the resource's current ETag (read it with GET first)."),
    "bad-if-match": ("If-Match phải là một ETag dạng \"<phiên bản>\", ví dụ \"3\".",
                     "If-Match must be an entity tag \"<version>\", for example \"3\"."),
    "version-conflict": ("{ref}: phiên bản {expected} đã cũ, phiên bản hiện tại là {actual}; đọc lại rồi thử lại.",
                         "{ref}: version {expected} is stale, the current version is {actual}; read it again and "
                         "retry."),
    "body-too-large": ("Nội dung yêu cầu vượt quá {limit} byte.", "The request body exceeds {limit} bytes."),
    "malformed-json": ("Nội dung không phải JSON hợp lệ.", "The body is not valid JSON."),
    "validation-failed": ("Yêu cầu không hợp lệ; xem danh sách lỗi theo từng trường.",
                          "The request is not valid; see the errors per field."),
    "not-found": ("Không có tài nguyên tại địa chỉ này.", "Nothing is at this address."),
    "method-not-allowed": ("Phương thức này không dùng được ở địa chỉ này.", "This method is not allowed here."),
    "internal-error": ("Máy chủ gặp lỗi không mong đợi; lỗi đã được ghi lại (mã yêu cầu {request_id}).",
                       "The server hit an unexpected error; it has been logged (request id {request_id})."),
    "store-error": ("Kho dữ liệu đang bận hoặc lỗi; thử lại sau.", "The store is busy or failing; retry later."),
    "store-full": ("Ổ đĩa chứa danh mục đã đầy nên thao tác ghi đã bị huỷ; danh mục vẫn giữ nguyên như trước. Hãy "
                   "giải phóng dung lượng rồi thử lại.",
                   "The disk holding the catalog is full, so the write was rolled back; the catalog is unchanged. "
                   "Free some space and retry."),
    "backup-failed": ("Bản sao không khớp với dữ liệu được sao nên không được giữ lại; không có gì bị thay đổi.",
                      "The copy does not match what it copies, so it was not kept; nothing was changed."),
    "restore-refused": ("Danh mục không trống: khôi phục sẽ làm mất dữ liệu hiện có. Dùng --force nếu thật sự muốn "
                        "thay thế.",
                        "The catalog is not empty: a restore would lose what it holds. Use --force to replace it."),
    "permission-denied": ("{principal} ({role}) không được phép thực hiện thao tác này.",
                          "{principal} ({role}) may not do this."),
    "too-many-attempts": ("Đã có quá nhiều lần đăng nhập sai hoặc mã truy cập không hợp lệ cho tài khoản này hoặc từ "
                          "địa chỉ này. Vui lòng thử lại sau {seconds} giây.",
                          "There have been too many failed sign-ins or invalid API tokens for this account or from "
                          "this address. Try again in {seconds} seconds."),
}

# pydantic / API reason codes -> (vi, en)
REASONS: dict[str, tuple[str, str]] = {
    "missing": ("bắt buộc", "required"),
    "extra_forbidden": ("trường không được phép (không có trong lược đồ)", "unknown field (not in the schema)"),
    "json_invalid": ("JSON không hợp lệ", "invalid JSON"),
    "string_type": ("phải là chuỗi", "must be text"),
    "int_type": ("phải là số nguyên", "must be a whole number"),
    "int_parsing": ("phải là số nguyên", "must be a whole number"),
    "bool_parsing": ("phải là true hoặc false", "must be true or false"),
    "bool_type": ("phải là true hoặc false", "must be true or false"),
    "date_from_datetime_parsing": ("phải là ngày YYYY-MM-DD", "must be a date YYYY-MM-DD"),
    "date_parsing": ("phải là ngày YYYY-MM-DD", "must be a date YYYY-MM-DD"),
    "date_type": ("phải là ngày YYYY-MM-DD", "must be a date YYYY-MM-DD"),
    "dict_type": ("phải là đối tượng JSON", "must be a JSON object"),
    "model_attributes_type": ("phải là đối tượng JSON", "must be a JSON object"),
    "list_type": ("phải là danh sách", "must be a list"),
    "literal_error": ("giá trị không được phép", "value not allowed"),
    "string_too_long": ("quá dài", "too long"),
    "string_too_short": ("quá ngắn", "too short"),
    "string_pattern_mismatch": ("không đúng định dạng", "does not match the expected pattern"),
    "greater_than_equal": ("quá nhỏ", "too small"),
    "less_than_equal": ("quá lớn", "too large"),
    **TEXT_REASONS,  # text-control, text-surrogate, text-bidi, text-noncharacter, text-too-deep (catalog.text)
    **CHANGE_REASONS,  # what a change may not set, owner and parent references (catalog.services)
    **EVENT_REASONS,  # organisation events that make no sense (catalog.orgs)
    "body-not-utf8": ("nội dung phải là JSON mã hoá UTF-8 (không nhận UTF-16, UTF-32 hay mã khác)",
                      "the body must be JSON encoded as UTF-8 (not UTF-16, UTF-32 or another encoding)"),
    "paths-same-endpoints": ("trùng với điểm đầu: hãy chọn hai đối tượng khác nhau",
                             "the same entity as the start: choose two different entities"),
}


# the catalog's own English reasons and messages that the API passes through, in Vietnamese (the metamodel's
# reasons are translated by importers.base.vi_reason, shared with the importers' reports)
_VI_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), vi) for p, vi in (
    (r"^relationship (\S+) does not exist$", r"quan hệ \1 không tồn tại"),
    (r"^(\S+) does not exist$", r"\1 không tồn tại"),
    (r"^(\S+) did not exist at (\S+)$", r"\1 chưa tồn tại vào thời điểm \2"),
    (r"^(\S+) no longer exists \(valid until (\S+)\); use its successor$",
     r"\1 không còn tồn tại (hiệu lực đến \2); hãy dùng đơn vị kế thừa"),
    (r"^(\S+) is retired$", r"\1 đã ngừng sử dụng"),
    (r"^(\S+) was dissolved on (\S+); link its successor instead$", r"\1 đã giải thể ngày \2; hãy liên kết đơn vị "
                                                                  r"kế thừa"),
    (r"^(\S+) already exists$", r"\1 đã tồn tại"),
    (r"^(\S+) still owns (\d+) entities; transfer them first$", r"\1 vẫn là chủ quản của \2 đối tượng; hãy "
                                                                r"chuyển giao trước"),
    (r"^no draft (\S+)$", r"không có bản nháp \1"),
    (r"^the draft is already (\w+)$", r"bản nháp đã được xử lý (\1)"),
    (r"^a reason is required.*$", "cần nêu lý do (tối đa 2000 ký tự)"),
))


def vi_text(text: str) -> str:
    """Vietnamese for one of the catalog's English reasons or messages, or the text itself when there is none;
    several reasons joined by '; ' are translated one by one."""
    from importers.base import vi_reason

    def one(part: str) -> str:
        for pattern, vi in _VI_MESSAGES:
            if pattern.match(part):
                return pattern.sub(vi, part)
        return vi_reason(part) or part

    field, sep, rest = text.partition(": ")
    if sep and " " not in field and rest:  # "field: reason"
        return f"{field}: {one(rest)}"
    return one(text)


def choose_lang(accept_language: str | None, default: str = "vi") -> str:
    """'vi' or 'en' from an Accept-Language header (highest q first; ties in header order), else ``default``."""
    best: tuple[float, int, str] | None = None
    for i, part in enumerate((accept_language or "")[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        lang = "vi" if tag.startswith("vi") else "en" if tag.startswith("en") else None
        if lang and q > 0 and (best is None or q > best[0]):
            best = (q, i, lang)
    return best[2] if best else default


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def title(code: str, lang: str) -> str:
    return _pick(TITLES.get(code, TITLES["http-error"]), lang)


def detail(code: str, lang: str, **values: object) -> str | None:
    pair = DETAILS.get(code)
    return _pick(pair, lang).format(**values) if pair else None


def reason(code: str, lang: str, fallback: str = "") -> str:
    pair = REASONS.get(code)
    return _pick(pair, lang) if pair else fallback


__all__ = ["DETAILS", "REASONS", "TITLES", "choose_lang", "detail", "reason", "title", "vi_text"]
