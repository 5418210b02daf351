"""Export commands: the review log (核查台账) and the monthly report (月报)."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from .common import UserError, as_of_arg, console, open_station, say


def month_arg(value: str) -> str:
    m = re.fullmatch(r"\s*(\d{4})\s*(?:[-/.年]\s*)?(\d{1,2})\s*月?\s*", value or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise argparse.ArgumentTypeError(f"月份「{value}」格式不对，应为 YYYY-MM，如 2026-10")
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="导出核查台账  export the review log",
                       description="导出文件写入工作目录的 exports/（或 --out 指定的文件）。")
    what = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    q = what.add_parser(
        "review-log", help="核查台账：每条复核决定一行  one row per decision",
        description="导出一段时间内的复核决定（核查台账）。身份证号默认打码（如 420105********1234），"
                    "最后一行是复核日志的校验值。CSV 为带 BOM 的 UTF-8，Excel、WPS 可直接打开。")
    q.add_argument("--from", dest="date_from", type=as_of_arg, metavar="DATE", help="起始日期（含），默认为第一条决定的日期")
    q.add_argument("--to", dest="date_to", type=as_of_arg, metavar="DATE", help="截止日期（含），默认今天")
    q.add_argument("--format", choices=("csv", "xlsx"), default="xlsx", help="文件格式（默认 xlsx）")
    q.add_argument("--out", type=Path, metavar="FILE", help="输出文件（默认 exports/核查台账_起_止.格式）")
    q.add_argument("--unmask", action="store_true", help="显示完整身份证号（注意保密）")
    q.set_defaults(func=cmd_export_review_log)

    p = sub.add_parser("report", help="月度监督报表  the monthly supervision report",
                       description="生成某月的基金监督月报：分规则、分部门的发现、处理、确认、排除、整改数量和金额，"
                                   "处理率、整改率对照 95% 目标，未处理疑点账龄，以及累计情况。")
    p.add_argument("--month", required=True, type=month_arg, metavar="YYYY-MM", help="报表月份，如 2026-10")
    p.add_argument("--format", choices=("xlsx", "md", "html"), default="xlsx", help="文件格式（默认 xlsx）")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="输出文件（默认 exports/监督月报_YYYY-MM.格式；md/html 写 - 则打印到屏幕）")
    p.set_defaults(func=cmd_report)


def office_of(station) -> str | None:
    """The 填报单位 for the title block. Asked for once at a terminal when rules.yaml has
    none, and kept in the home's rules.yaml; a script gets a blank line to fill in."""
    import sys
    if station.cfg.office or not sys.stdin.isatty():
        return station.cfg.office
    try:
        name = input("填报单位（印在台账和月报的抬头，如 某某县人力资源和社会保障局基金监督科；直接回车跳过）：")
    except EOFError:
        return None
    name = " ".join(name.split())
    if name:
        station.set_office(name)
        console.print(f"已记下填报单位「{name}」（{station.home.rules_path} 的 office 项）。", markup=False)
    return name or None


def _out_path(out: Path | None, default: Path) -> Path:
    path = (out.expanduser() if out else default).resolve()
    if path.is_dir():
        return path / default.name
    return path


def cmd_export_review_log(args) -> int:
    from ..services.export import ExportError, export_review_log
    from ..services.export import review_log_path as default_path, review_log_range as default_range
    station = open_station(args)
    date_from = args.date_from.isoformat() if args.date_from else None
    date_to = args.date_to.isoformat() if args.date_to else None
    date_from, date_to = default_range(station.conn, date_from, date_to)
    out = _out_path(args.out, default_path(station.home.exports, date_from, date_to, args.format))
    try:
        result = export_review_log(station.conn, out, fmt=args.format, date_from=date_from,
                                   date_to=date_to, unmask=args.unmask,
                                   office=office_of(station) if args.format == "xlsx" else None)
    except ExportError as e:
        raise UserError(str(e)) from None
    say(f"已导出核查台账（{date_from} 至 {date_to}，{result.rows} 条决定"
        f"{'，身份证号未打码，请注意保密' if args.unmask else ''}）：{result.path}")
    say(f"校验值：entries={result.entries} head={result.head}")
    return 0


def cmd_report(args) -> int:
    from ..services.export import (ExportError, build_report, export_report, head_line, render_html,
                                   render_markdown)
    from ..services.export import report_path as default_path
    station = open_station(args)
    try:
        if args.out is not None and str(args.out) == "-":
            if args.format == "xlsx":
                raise UserError("xlsx 不能打印到屏幕：请用 --format md 或 html，或用 --out 指定文件。")
            data = build_report(station.conn, args.month, office=station.cfg.office, cfg=station.cfg)
            render = render_markdown if args.format == "md" else render_html
            print(render(data), end="")
            return 0
        out = _out_path(args.out, default_path(station.home.exports, args.month, args.format))
        result = export_report(station.conn, args.month, out, fmt=args.format, office=office_of(station),
                               cfg=station.cfg)
    except ExportError as e:
        raise UserError(str(e)) from None
    from ..services.review import summary
    s = summary(station.conn, month=args.month)
    rate = lambda r: "—" if r is None else f"{r * 100:.1f}%"   # noqa: E731
    say(f"已生成 {args.month} 月报：{result.path}")
    say(f"本月发现 {s['found']} 条，已处理 {s['handled']} 条，处理率 {rate(s['handling_rate'])}，"
        f"整改率 {rate(s['rectification_rate'])}；累计处理率 {rate(s['cumulative']['handling_rate'])}，"
        f"累计整改率 {rate(s['cumulative']['rectification_rate'])}（目标 95%）。")
    say(head_line(result.entries, result.head))
    return 0
