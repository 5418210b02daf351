"""Print layout for the XLSX and HTML files the station writes (核查台账, 月报).

A county section hands these to superiors and auditors on paper, signed and stamped. An
office prints with its spreadsheet's defaults (LibreOffice Calc, WPS, Excel), so the page
setup travels inside the file:

- A4, landscape for wide tables, every column fitted to one page width (``fitToWidth=1``,
  any number of pages down), the table's header row repeated on every page, margins of
  about 1.5 cm, long text wrapped inside its column;
- a title block (what the table is, the period, 填报单位, when it was made) above the
  table and a signature block (填表人 / 审核人 / 负责人 / 日期) below it;
- a footer ``第 N 页 共 M 页``, and on the review log the log's check value (校验值), so a
  printed page can be matched with ``station verify``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

SIGNATURES = ("填表人", "审核人", "负责人", "日期")
BLANK = "　" * 8                       # room to sign by hand


@dataclass(frozen=True)
class TitleBlock:
    title: str                        # 核查台账 / 基金监督月报（2026年10月）
    period: str                       # 2026-10-01 至 2026-10-31
    office: str | None                # 填报单位 (rules.yaml `office:`); blank line to fill in
    generated_at: str                 # 2026-11-02 09:30:00

    def info_line(self) -> str:
        office = self.office or BLANK
        return f"填报单位：{office}　　期间：{self.period}　　生成时间：{self.generated_at}"


def signature_line() -> str:
    return "　　".join(f"{label}：{BLANK}" for label in SIGNATURES)


def footer_text(check_value: str | None = None) -> str:
    """Footer code for the centre: page N of M; the check value after it when given."""
    pages = "第 &P 页 共 &N 页"
    return f"{pages}　　校验值 {check_value}" if check_value else pages


# --------------------------------------------------------------------------- XLSX

def write_title_block(sw, block: TitleBlock, ncols: int) -> None:
    """Title (large, bold, merged over the table's width) and the information line."""
    from openpyxl.styles import Alignment, Font
    ws = sw.ws
    sw.append([block.title], track=False)
    title = ws.cell(row=sw.row, column=1)
    title.font = Font(bold=True, size=16)
    title.alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[sw.row].height = 28
    if ncols > 1:
        ws.merge_cells(start_row=sw.row, start_column=1, end_row=sw.row, end_column=ncols)
    sw.append([block.info_line()], track=False)
    if ncols > 1:
        ws.merge_cells(start_row=sw.row, start_column=1, end_row=sw.row, end_column=ncols)
    ws.cell(row=sw.row, column=1).alignment = Alignment(horizontal="left", vertical="center")


def write_signature_block(sw, ncols: int) -> None:
    from openpyxl.styles import Alignment
    sw.blank()
    sw.append([signature_line()], track=False)
    ws = sw.ws
    if ncols > 1:
        ws.merge_cells(start_row=sw.row, start_column=1, end_row=sw.row, end_column=ncols)
    ws.cell(row=sw.row, column=1).alignment = Alignment(horizontal="left", vertical="center")
    ws.row_dimensions[sw.row].height = 36


def set_widths(ws, widths: Sequence[float], wrap_columns: Sequence[int] = (),
               first_row: int = 1) -> None:
    """Fixed column widths (in characters; a Chinese character counts two) and wrapping of
    the 1-based ``wrap_columns`` from ``first_row`` down."""
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    for col in wrap_columns:
        for (cell,) in ws.iter_rows(min_row=first_row, min_col=col, max_col=col):
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def grid(ws, first_row: int, last_row: int, ncols: int) -> None:
    """Thin borders around every cell of a table, so the printed rows can be followed."""
    from openpyxl.styles import Border, Side
    thin = Side(style="thin", color="808080")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for row in ws.iter_rows(min_row=first_row, max_row=last_row, max_col=ncols):
        for cell in row:
            cell.border = border


def a4_setup(ws, *, landscape: bool, header_row: int | None,
             check_value: str | None = None) -> None:
    """A4, fitted to one page width, header row repeated, page numbers in the footer."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0                 # as many pages down as needed
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.6          # inches (≈1.5 cm)
    ws.page_margins.top = ws.page_margins.bottom = 0.7
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.print_options.horizontalCentered = True
    if header_row:
        ws.print_title_rows = f"{header_row}:{header_row}"
    ws.oddFooter.center.text = footer_text(check_value)
    ws.oddFooter.center.size = 9
    ws.evenFooter.center.text = footer_text(check_value)


# --------------------------------------------------------------------------- HTML

PRINT_CSS = """
@page{size:A4 landscape;margin:14mm 12mm}
@media print{
 body{margin:0;font-size:10.5pt}
 h1{font-size:16pt}
 section{break-inside:auto}
 section+section{break-before:auto}
 section.page{break-before:page}
 table{width:100%;page-break-inside:auto}
 thead{display:table-header-group}
 tr{break-inside:avoid}
 .noprint{display:none}
}
.titleblock p{margin:.2em 0}.signatures{margin-top:2.5em;display:flex;gap:3em;flex-wrap:wrap}
.signatures span{display:inline-block;min-width:12em;border-bottom:1px solid #333;padding-bottom:.2em}
"""


def html_title_block(block: TitleBlock) -> str:
    import html
    e = html.escape
    return (f'<header class="titleblock"><h1>{e(block.title)}</h1>'
            f"<p>{e(block.info_line())}</p></header>")


def html_signature_block() -> str:
    return '<footer class="signatures">' + "".join(
        f"<span>{label}：</span>" for label in SIGNATURES) + "</footer>"
