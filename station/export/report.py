"""The monthly supervision report (基金监督月报) as Markdown, HTML or XLSX.

The figures come from :func:`station.review.stats.summary` (the TUI dashboard shows the
same); this module only lays them out. The layout is built once as a list of sections
(title, header, rows) and rendered three ways, so the formats cannot drift apart.
"""
from __future__ import annotations

import html
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..register.db import now_iso
from ..review.log import chain_head
from ..review.states import TARGET_RATE
from ..review.stats import AGE_BANDS, month_bounds, summary
from .files import (ExportError, ExportResult, Money, Rate, SheetWriter, atomic_write, head_line,
                    new_workbook, save_workbook, snapshot, text_of)
from .layout import (PRINT_CSS, TitleBlock, a4_setup, grid, html_signature_block, html_title_block,
                     signature_line, write_signature_block, write_title_block)

FORMATS = ("xlsx", "md", "html")
TARGET_TEXT = f"{TARGET_RATE * 100:.0f}%"

DEFINITIONS = (
    "发现：本月首次比对出的疑点；累计：截至月末已发现的全部疑点。",
    "各疑点的复核状态按复核日志推算到月末（下月 1 日零时前的决定），任何时候重出本月报表结果相同。",
    "确认违规含其后已整改的；已处理 = 确认违规 + 排除；待整改 = 确认违规但尚未整改。",
    f"处理率 = 已处理 ÷ 发现；整改率 = 已整改 ÷ 确认违规（含已整改）。目标均为 {TARGET_TEXT}，"
    "分母为 0 时显示“—”。",
    "未处理 = 待核查 + 核查中且数据中仍存在；数据已消除、未作决定的疑点单列，仍计入处理率的分母"
    "（请复核后记录决定）。",
    "涉及金额取疑点金额；追回金额取“整改完成”时登记的金额。",
    "账龄：截至月末仍未处理的疑点（不论哪个月发现），自首次发现之日起计算天数。",
    "校验值为生成报表时复核日志的记录数和最后一条记录的哈希值，可用 station verify 核对。",
)


@dataclass
class Section:
    title: str
    header: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)


def _ok(flag: bool | None) -> str:
    return "—" if flag is None else ("达标" if flag else "未达标")


def _totals_section(title: str, t: dict) -> Section:
    return Section(title, ["项目", "数值", "说明"], [
        ["发现疑点（条）", t["found"], ""],
        ["已处理（条）", t["handled"], "确认违规 + 排除"],
        ["　确认违规（条）", t["confirmed"], "含已整改"],
        ["　排除（条）", t["dismissed"], ""],
        ["　已整改（条）", t["rectified"], ""],
        ["　待整改（条）", t["awaiting_rectification"], "确认违规但尚未整改"],
        ["未处理（条）", t["open"], f"待核查 {t['new']}，核查中 {t['in_review']}"],
        ["数据已消除、未作决定（条）", t["cleared_unhandled"], "计入处理率分母"],
        ["涉及金额（元）", Money(t["amount_involved"]), ""],
        ["确认违规涉及金额（元）", Money(t["amount_confirmed"]), ""],
        ["追回金额（元）", Money(t["amount_recovered"]), ""],
        ["处理率", Rate(t["handling_rate"]), f"目标 {TARGET_TEXT}：{_ok(t['handling_ok'])}"],
        ["整改率", Rate(t["rectification_rate"]), f"目标 {TARGET_TEXT}：{_ok(t['rectification_ok'])}"],
    ])


GROUP_FIGURES = ["发现", "已处理", "确认违规", "排除", "已整改", "涉及金额", "追回金额",
                 "处理率", "处理率达标", "整改率", "整改率达标"]


def _figures(t: dict) -> list[Any]:
    return [t["found"], t["handled"], t["confirmed"], t["dismissed"], t["rectified"],
            Money(t["amount_involved"]), Money(t["amount_recovered"]),
            Rate(t["handling_rate"]), _ok(t["handling_ok"]),
            Rate(t["rectification_rate"]), _ok(t["rectification_ok"])]


def _rule_section(title: str, s: dict) -> Section:
    rows = [[r["title"], r["department_title"], *_figures(r)] for r in s["per_rule"]]
    rows.append(["合计", "", *_figures(s)])
    return Section(title, ["规则", "部门", *GROUP_FIGURES], rows)


def _department_section(title: str, s: dict) -> Section:
    rows = [[d["title"], *_figures(d)] for d in s["per_department"]]
    rows.append(["合计", *_figures(s)])
    return Section(title, ["部门", *GROUP_FIGURES], rows)


RECONCILE_MONTHS = 12        # the 三方对账 section: the report month and the 11 before it


def _reconcile_section(title: str, conn: sqlite3.Connection, cfg, month: str, end: str) -> Section:
    """三方对账 per month and 险种 up to the report month, as the rules see it at month end:
    months not yet due say so instead of a difference."""
    import datetime as dt
    from ..config import load_config
    from ..rules.reconcile import reconciliation_table
    table = reconciliation_table(conn, cfg or load_config(), dt.date.fromisoformat(end))
    months = sorted({r["month"] for r in table["rows"] if r["month"] <= month}, reverse=True)[:RECONCILE_MONTHS]
    rows = []
    for r in table["rows"]:
        if r["month"] not in months:
            continue
        short = "—" if r["assessed"] is None else Money(r["short"]) if r["contribution_due"] else "未到期"
        moved = Money(r["untransferred"]) if r["transfer_due"] else "未到期"
        flags = "、".join(f for f, on in (("少缴", r["contribution_flag"]), ("未足额划入", r["transfer_flag"])) if on)
        rows.append([r["month"], r["insurance"], *(Money(r[k]) if r[k] is not None else "—" for k in
                                                   ("assessed", "collected")), short,
                     *(Money(r[k]) if r[k] is not None else "—" for k in ("paid_in", "transferred")), moved,
                     flags or "—"])
    paragraphs = [] if rows else ["本期没有核定、征收或财政专户入账数据。"]
    paragraphs.append(f"核定与征收按费款所属期比对，所属期末后 {table['contribution_grace_days']} 天到期；"
                      f"入库与划入专户按月比对，月末后 {table['transfer_grace_days']} 天到期；"
                      f"差额超过 {table['tolerance']:.2f} 元列为差异。金额按分精确计算。")
    return Section(title, ["月份", "险种", "核定（元）", "征收（元）", "少缴（元）", "入库（元）",
                           "划入专户（元）", "未划入（元）", "差异"], rows, paragraphs)


def build_report(conn: sqlite3.Connection, month: str, *, office: str | None = None, cfg=None) -> dict:
    """The report's data: the summary, the review log's head, and the sections.
    ``office`` is the 填报单位 printed in the title block (rules.yaml ``office:``);
    ``cfg`` the configuration whose rule parameters the 三方对账 section uses."""
    try:
        month_bounds(month)
    except ValueError as e:
        raise ExportError(str(e)) from None
    with snapshot(conn):
        s = summary(conn, month=month)
        entries, head = chain_head(conn)
    y, m = month.split("-")
    end = s["period_end"]
    sections = [
        _totals_section(f"一、本月新发现疑点及其处理情况（状态截至 {end}）", s),
        _rule_section("二、分规则（本月新发现）", s),
        _department_section("三、分部门（本月新发现）", s),
        _totals_section(f"四、累计情况（截至 {end} 已发现的全部疑点）", s["cumulative"]),
        _rule_section("五、累计分规则", s["cumulative"]),
        _department_section("六、累计分部门", s["cumulative"]),
        Section(f"七、未处理疑点账龄（截至 {end}）", [label for label, _ in AGE_BANDS] + ["合计"],
                [[*s["age_bands"].values(), sum(s["age_bands"].values())]]),
        _reconcile_section(f"八、三方对账（核定、征收、划入财政专户，截至 {end}）", conn, cfg, month, end),
        Section("九、口径说明", paragraphs=list(DEFINITIONS)),
    ]
    title = f"基金监督月报（{int(y)}年{int(m)}月）"
    period = f"{s['period_start']} 至 {end}"
    generated = now_iso().replace("T", " ")
    return {"title": title, "month": month, "summary": s, "period": period, "generated_at": generated,
            "office": office, "block": TitleBlock(title, period, office, generated),
            "entries": entries, "head": head, "sections": sections}


def is_totals_row(row: list[Any]) -> bool:
    """Only totals rows are styled as totals (bold)."""
    return bool(row) and row[0] == "合计"


# --------------------------------------------------------------------------- Markdown

def display_text(value: Any) -> str:
    """A cell as a reader sees it in Markdown and HTML: amounts and counts with thousands
    separators (CSV and XLSX keep plain numbers)."""
    if isinstance(value, Money):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return text_of(value)


def _md_cell(value: Any) -> str:
    return display_text(value).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Rate)) and not isinstance(value, bool)


def _numeric_column(sec: Section, i: int) -> bool:
    values = [row[i] for row in sec.rows if i < len(row) and row[i] not in ("", None, "—")]
    return bool(values) and all(_is_number(v) for v in values)


def render_markdown(data: dict) -> str:
    out = [f"# {_md_cell(data['title'])}", "", _md_cell(data["block"].info_line()), ""]
    for sec in data["sections"]:
        out += [f"## {_md_cell(sec.title)}", ""]
        if sec.header:
            out.append("| " + " | ".join(_md_cell(h) for h in sec.header) + " |")
            out.append("|" + "|".join("---:" if _numeric_column(sec, i) else "---"
                                       for i in range(len(sec.header))) + "|")
            for row in sec.rows:
                cells = [_md_cell(v) for v in row]
                if is_totals_row(row):
                    cells = [f"**{c}**" if c else c for c in cells]
                out.append("| " + " | ".join(cells) + " |")
            out.append("")
        for p in sec.paragraphs:
            out.append(f"- {_md_cell(p)}")
        if sec.paragraphs:
            out.append("")
    out += [_md_cell(signature_line()), "", head_line(data["entries"], data["head"])]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- HTML

_CSS = """body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:0 0 1.5em}th,td{border:1px solid #999;padding:4px 8px}
th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:bold}
.bad{color:#b00}.head{font-family:monospace;word-break:break-all}
figure{margin:0 0 1.5em}figcaption{font-size:.9em;color:#555}""" + PRINT_CSS


def _html_cell(value: Any, tag: str = "td") -> str:
    text = html.escape(display_text(value))
    classes = []
    if _is_number(value):
        classes.append("n")
    if value == "未达标" or (isinstance(value, str) and value.endswith("：未达标")):
        classes.append("bad")
    cls = f' class="{" ".join(classes)}"' if classes else ""
    return f"<{tag}{cls}>{text}</{tag}>"


CHART_BAR_WIDTH = 360


def chart_svg(data: dict) -> str:
    """An inline bar chart of this month's anomalies per rule: found, and handled within
    it. Plain SVG (no script, nothing fetched), so it prints and opens offline."""
    e = html.escape
    rows = [r for r in data["summary"]["per_rule"] if r["found"]]
    if not rows:
        return ""
    top = max(r["found"] for r in rows)
    label_w, row_h = 190, 22
    height = row_h * len(rows) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + CHART_BAR_WIDTH + 80}" '
             f'height="{height}" role="img" aria-label="本月分规则疑点数">']
    for i, r in enumerate(rows):
        y = i * row_h + 4
        found_w = CHART_BAR_WIDTH * r["found"] / top
        handled_w = CHART_BAR_WIDTH * r["handled"] / top
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" font-size="12" text-anchor="end">'
                     f'{e(r["title"])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{found_w:.1f}" height="16" fill="#c9d6e8"/>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{handled_w:.1f}" height="16" fill="#3a6ea5"/>')
        parts.append(f'<text x="{label_w + found_w + 6:.1f}" y="{y + 13}" font-size="11">'
                     f'{r["handled"]:,} / {r["found"]:,}</text>')
    y = len(rows) * row_h + 18
    parts.append(f'<rect x="{label_w}" y="{y - 10}" width="12" height="10" fill="#3a6ea5"/>'
                 f'<text x="{label_w + 16}" y="{y}" font-size="11">已处理</text>'
                 f'<rect x="{label_w + 70}" y="{y - 10}" width="12" height="10" fill="#c9d6e8"/>'
                 f'<text x="{label_w + 86}" y="{y}" font-size="11">发现</text>')
    parts.append("</svg>")
    return ("<figure>" + "".join(parts) +
            "<figcaption>图：本月新发现疑点分规则的处理情况（已处理 / 发现，条）</figcaption></figure>")


def render_html(data: dict) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
           f"<title>{e(data['title'])}</title><style>{_CSS}</style></head><body>",
           html_title_block(data["block"])]
    for i, sec in enumerate(data["sections"]):
        out.append(f"<section><h2>{e(sec.title)}</h2>")
        if i == 1:
            out.append(chart_svg(data))
        if sec.header:
            out.append("<table><thead><tr>" + "".join(_html_cell(h, "th") for h in sec.header)
                       + "</tr></thead><tbody>")
            for row in sec.rows:
                cls = ' class="total"' if is_totals_row(row) else ""
                out.append(f"<tr{cls}>" + "".join(_html_cell(v) for v in row) + "</tr>")
            out.append("</tbody></table>")
        if sec.paragraphs:
            out.append("<ul>" + "".join(f"<li>{e(p)}</li>" for p in sec.paragraphs) + "</ul>")
        out.append("</section>")
    out.append(html_signature_block())
    out.append(f'<p class="head">{e(head_line(data["entries"], data["head"]))}</p>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- XLSX

def render_xlsx(data: dict):
    wb = new_workbook()
    ws = wb.active
    ws.title = f"月报{data['month']}"
    sw = SheetWriter(ws)
    ncols = max(len(sec.header) for sec in data["sections"])
    write_title_block(sw, data["block"], ncols)
    for sec in data["sections"]:
        sw.blank()
        sw.append([sec.title], bold=True, track=False)
        if sec.header:
            sw.append(sec.header, bold=True)
            top = sw.row
            for row in sec.rows:
                sw.append(row, bold=is_totals_row(row))
            grid(ws, top, sw.row, len(sec.header))
        for p in sec.paragraphs:
            sw.append([p], track=False)
            if ncols > 1:
                ws.merge_cells(start_row=sw.row, start_column=1, end_row=sw.row, end_column=ncols)
            from openpyxl.styles import Alignment
            ws.cell(row=sw.row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
            ws.row_dimensions[sw.row].height = 30
    write_signature_block(sw, ncols)
    sw.append([head_line(data["entries"], data["head"])], track=False)
    sw.finish(max_width=24)
    a4_setup(ws, landscape=True, header_row=None)
    return wb


# --------------------------------------------------------------------------- writing

def default_path(exports: Path, month: str, fmt: str) -> Path:
    return Path(exports) / f"监督月报_{month}.{fmt}"


def export_report(conn: sqlite3.Connection, month: str, out: Path, *, fmt: str = "xlsx",
                  office: str | None = None, cfg=None) -> ExportResult:
    if fmt not in FORMATS:
        raise ExportError(f"不支持的格式「{fmt}」，请用 xlsx、md 或 html。")
    data = build_report(conn, month, office=office, cfg=cfg)
    if fmt == "md":
        body = render_markdown(data).encode("utf-8")
        atomic_write(out, lambda f: f.write(body))
    elif fmt == "html":
        body = render_html(data).encode("utf-8")
        atomic_write(out, lambda f: f.write(body))
    else:
        wb = render_xlsx(data)
        atomic_write(out, lambda f: save_workbook(wb, f))
    return ExportResult(Path(out), data["summary"]["found"], data["entries"], data["head"])
