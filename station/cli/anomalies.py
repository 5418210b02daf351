"""Commands for anomalies: evaluate (re-run the rules) and anomalies (list them)."""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..services.export import neutralise
from ..services.anomalies import (SORT_KEYS, AnomalyFilter, FilterError, count_anomalies,
                                  list_anomalies, masked_anomaly)
from .common import UserError, as_of_arg, console, open_station, plain, say, table_console

CSV_COLUMNS = (("id", "编号"), ("rule", "规则编号"), ("title", "规则"), ("severity_title", "严重程度"),
               ("department_title", "部门"), ("subject", "对象"), ("name", "姓名/名称"),
               ("period", "所属期"), ("amount", "金额"), ("status_title", "核查状态"),
               ("data_status_title", "数据状态"), ("first_seen", "首次发现"),
               ("last_seen", "最近发现"), ("summary", "说明"))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="重新比对全部规则  re-run every rule",
                       description="按基准日重新运行全部比对规则，更新疑点。")
    p.add_argument("--as-of", type=as_of_arg, metavar="DATE", help="比对基准日（默认今天）")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("anomalies", help="列出疑点  list anomalies",
                       description="列出最近一次比对后未消除的疑点（--all 含数据已消除的）。"
                                   "表格、CSV 和 JSON 默认隐去身份证号码中间 8 位、出生日期只显示年份、"
                                   "银行账号只显示末 4 位；--unmask 显示完整数据（供程序读取，注意保密）。"
                                   "JSON 含证据。")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table",
                   help="输出格式（默认 table）")
    p.add_argument("--rule", action="append", metavar="R",
                   help="只看某条规则（规则编号或中文名称；可重复，或用逗号分隔）")
    p.add_argument("--status", action="append", metavar="S",
                   help="核查状态：new/in_review/confirmed/dismissed/rectified 或 待核查/核查中/确认违规/排除/已整改")
    p.add_argument("--department", action="append", metavar="D",
                   help="部门：public_security、civil_affairs… 或 公安、民政…")
    p.add_argument("--severity", action="append", metavar="LEVEL", help="严重程度：high/medium/low 或 高/中/低")
    p.add_argument("--search", metavar="TEXT", help="按姓名、名称或号码的一部分查找")
    p.add_argument("--min-amount", type=float, metavar="AMOUNT", help="金额不低于")
    p.add_argument("--all", action="store_true", help="包括数据已消除的疑点")
    p.add_argument("--sort", choices=sorted(SORT_KEYS), default="id", help="排序字段（默认 id）")
    p.add_argument("--desc", action="store_true", help="倒序")
    p.add_argument("--limit", type=int, metavar="N", help="最多显示多少条")
    p.add_argument("--unmask", action="store_true",
                   help="显示完整身份证号码、出生日期和银行账号（所有格式，含 JSON；注意保密）")
    p.add_argument("--output", "-o", type=Path, metavar="FILE", help="写入文件（默认输出到屏幕）")
    p.set_defaults(func=cmd_anomalies)


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def cmd_evaluate(args) -> int:
    from ..services.formatting import RULES
    station = open_station(args)
    ev = station.evaluate(args.as_of)
    t = Table(title=f"比对结果（基准日 {ev.as_of}）")
    t.add_column("规则")
    t.add_column("名称")
    t.add_column("本次发现", justify="right")
    t.add_column("用时（秒）", justify="right")
    for rule_id in ev.rules:
        t.add_row(rule_id, RULES[rule_id].title, str(ev.per_rule.get(rule_id, 0)),
                  f"{ev.rule_seconds.get(rule_id, 0):.2f}")
    console.print(t)
    say(f"新增疑点 {ev.new}，数据已消除 {ev.cleared}，重新出现 {ev.reopened}，"
        f"当前未消除 {ev.open_count}。共用时 {ev.seconds:.2f} 秒。")
    if ev.held_back:
        say("暂停比对（所需数据从未导入，以免大量误报）：" + "、".join(RULES[r].title for r in ev.held_back) + "。")
    return 0


def cmd_anomalies(args) -> int:
    station = open_station(args)
    f = AnomalyFilter(rules=_split(args.rule), statuses=_split(args.status),
                      departments=_split(args.department), severities=_split(args.severity),
                      data_status=None if args.all else "open", search=args.search,
                      min_amount=args.min_amount)
    try:
        rows = list_anomalies(station.conn, f, sort=args.sort, descending=args.desc,
                              limit=args.limit, evidence=args.format != "table")
        total = count_anomalies(station.conn, f)
    except FilterError as e:
        raise UserError(str(e)) from None
    if not args.unmask:       # every format, JSON too, is masked unless asked (docs/REVIEW.md)
        rows = [masked_anomaly(r) for r in rows]
    if args.format == "json":
        text = json.dumps(rows, ensure_ascii=False, indent=1)
        _emit(args, text + "\n")
    elif args.format == "csv":
        _emit(args, _csv(rows), bom=True)
    else:
        if args.output:           # the table as text, into the (owner-only) file
            buf = io.StringIO()
            _table(rows, total, show_data_status=args.all,
                   out=Console(file=buf, highlight=False, width=200, color_system=None))
            _emit(args, buf.getvalue())
        else:
            _table(rows, total, show_data_status=args.all)
            from ..services.completeness import data_gaps, gaps_line
            line = gaps_line(data_gaps(station.conn, station.cfg, _split(args.rule) or None), limit=20)
            if line:          # 数据不全: some rules lack data (station.rules.completeness)
                say("⚠ " + line, err=True)
    return 0


def _emit(args, text: str, bom: bool = False) -> None:
    data = (("\ufeff" if bom else "") + text).encode("utf-8")
    if args.output:
        from ..services.export import ExportError, atomic_write
        try:   # owner-only (0600), and never a half-written file under the name
            atomic_write(args.output.expanduser().absolute(), lambda f: f.write(data))
        except ExportError as e:
            raise UserError(str(e)) from None
        print(f"已写入 {args.output}", file=sys.stderr)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([title for _, title in CSV_COLUMNS])
    for r in rows:
        out = []
        for key, _ in CSV_COLUMNS:
            if key == "summary":
                v = (r.get("evidence") or {}).get("summary", "")
            else:
                v = r.get(key)
            out.append("" if v is None else neutralise(v) if isinstance(v, str) else v)
        w.writerow(out)
    return buf.getvalue()


def _table(rows: list[dict], total: int, *, show_data_status: bool,
           out: Console | None = None) -> None:
    if out is None:
        out = table_console()
    if not rows:
        out.print("没有符合条件的疑点。", markup=False)
        return
    t = Table(title=f"疑点（共 {total} 条）")
    for col, justify in (("编号", "right"), ("规则", "left"), ("程度", "left"), ("部门", "left"),
                         ("对象", "left"), ("姓名/名称", "left"), ("所属期", "left"),
                         ("金额", "right"), ("核查状态", "left")):
        t.add_column(col, justify=justify, overflow="fold", no_wrap=col in ("对象", "金额"))
    if show_data_status:
        t.add_column("数据状态", overflow="fold")
    t.add_column("首次发现", overflow="fold")
    for r in rows:
        cells = [str(r["id"]), r["title"], r["severity_title"], r["department_title"], r["subject"],
                 r["name"] or "", r["period"] or "",
                 "" if r["amount"] is None else f"{r['amount']:,.2f}", r["status_title"]]
        if show_data_status:
            cells.append(r["data_status_title"])
        cells.append((r["first_seen"] or "")[:10])
        t.add_row(*[plain(c, unmask=True) for c in cells])     # rows come masked unless --unmask
    out.print(t)
    if total > len(rows):
        out.print(f"只显示前 {len(rows)} 条，共 {total} 条。", markup=False)
