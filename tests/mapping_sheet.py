"""A department's own spreadsheet, in a layout the project did not design (issue 20, item 3): two title rows, a header
merged over two rows in Vietnamese ("STT", "Thông tin hệ thống" over "Tên hệ thống" and "Cơ quan chủ quản", "Tình
trạng" over one mark column per lifecycle label), labels instead of codes, organisation names instead of references.
Built with openpyxl; shared by tests/importers/test_mapping.py and tests/web/test_mapping.py."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

# (name, organisation as the department writes it, level, lifecycle column marked, criticality label)
ROWS = [
    ("Hệ thống quản lý đề tài khoa học", "Sở Khoa học và Công nghệ", 3, "Đang vận hành", "Cao"),
    ("Cổng thông tin ngân sách", "Sở Tài chính", 2, "Đang xây dựng", "Trung bình"),
    ("Thư viện số KH&CN", "Sở KH&CN", 2, "Đang vận hành", "Thấp"),
]
# what the mapping makes of them (the code from the name; the ambiguous "Sở Khoa học và Công nghệ" chosen as HCMC's)
EXPECTED = {
    "system:he-thong-quan-ly-de-tai-khoa-hoc": ("organization:hcm-skhcn", 3, "production", "high"),
    "system:cong-thong-tin-ngan-sach": ("organization:hcm-stc", 2, "building", "medium"),
    "system:thu-vien-so-kh-cn": ("organization:hcm-skhcn", 2, "production", "low"),
}
AMBIGUOUS = "Sở Khoa học và Công nghệ"  # Hà Nội, Huế and HCMC each have one
CHOSEN = "organization:hcm-skhcn"


def department_workbook(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Danh mục HTTT"
    ws.append(["DANH MỤC HỆ THỐNG THÔNG TIN ĐANG QUẢN LÝ, VẬN HÀNH"])
    ws.merge_cells("A1:H1")
    ws.append(["(Kèm theo báo cáo kiểm kê năm 2026)"])
    ws.merge_cells("A2:H2")
    ws.append(["STT", "Thông tin hệ thống", None, "Cấp độ", "Tình trạng", None, "Mức độ quan trọng", "Ghi chú"])
    ws.append([None, "Tên hệ thống", "Cơ quan chủ quản", None, "Đang vận hành", "Đang xây dựng", None, None])
    for cell in ("A3:A4", "B3:C3", "D3:D4", "E3:F3", "G3:G4", "H3:H4"):
        ws.merge_cells(cell)
    for row in ws.iter_rows(min_row=1, max_row=4):
        for c in row:
            c.font = Font(bold=True)
            c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for n, (name, org, level, lifecycle, crit) in enumerate(ROWS, start=1):
        marks = ["x" if lifecycle == "Đang vận hành" else None, "x" if lifecycle == "Đang xây dựng" else None]
        ws.append([n, name, org, level, *marks, crit, "kiểm kê 2026"])
    wb.save(path)
    return path
