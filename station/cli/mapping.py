"""Commands for held files (待确认): ``station pending`` and ``station map``."""
from __future__ import annotations

import argparse

from rich.table import Table

from .common import UserError, as_of_arg, open_station, plain, say, table_console
from .inbox import print_evaluation, print_result


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pending", help="列出待确认的文件  files waiting for their mapping",
                       description="列出因文件类型或表头无法确定而等待确认（待确认）的文件。")
    p.set_defaults(func=cmd_pending)

    p = sub.add_parser(
        "map", help="确认待确认文件的类型和字段并导入  confirm a held file's mapping and apply it",
        description="显示待确认文件的识别建议（每列的表头、示例值、对应字段和理由）及导入预览，"
                    "按确认的对应关系导入。可以用 --kind 指定文件类型，用 --column 更正某一列。",
        epilog="例：station map 死亡名单.csv --kind household_deaths --column '户籍注销时间=注销日期' --save-aliases")
    p.add_argument("file", help="待确认文件：编号（如 #12）、文件名或路径")
    p.add_argument("--kind", metavar="K", help="文件类型，如 household_deaths 或 户籍注销人员")
    p.add_argument("--column", action="append", default=[], metavar="表头=字段",
                   help="指定某列对应的字段（可多次使用）；字段写「忽略」表示不导入该列")
    p.add_argument("--save-aliases", action="store_true",
                   help="把这些表头写入 rules.yaml 作为别名，下次同样的文件自动导入")
    p.add_argument("--dry-run", action="store_true", help="只显示识别建议和预览，不导入")
    p.add_argument("--reject", metavar="原因",
                   help="不导入，拒收这个待确认文件（移到 rejected/，记下原因），如加密的压缩包、错发的文件")
    p.add_argument("--as-of", type=as_of_arg, metavar="DATE", help="比对基准日（默认今天）")
    p.set_defaults(func=cmd_map)


def cmd_pending(args) -> int:
    from ..services.mapping import pending
    station = open_station(args)
    waiting = pending(station)
    if not waiting:
        say("没有待确认的文件。")
        return 0
    say(f"待确认的文件（{len(waiting)} 个）：")
    for p in waiting:
        where = p.original_path if p.member is None else f"{p.container} › {p.member}"
        say(f"#{p.id}  {where}  推测类型：{p.kind_title}  收件时间：{p.received_at or ''}")
        say(f"      原因：{p.why}")
    say("确认并导入：station map 编号或文件名 [--kind 类型] [--column '表头=字段'] [--save-aliases]")
    return 0


def _columns(values: list[str]) -> dict[str, str]:
    out = {}
    for v in values:
        header, sep, field = v.partition("=")
        if not sep or not header.strip():
            raise UserError(f"--column 应写成「表头=字段」，如 --column '户籍注销时间=注销日期'；收到的是「{v}」。")
        out[header.strip()] = field.strip()
    return out


def cmd_map(args) -> int:
    from ..services.mapping import MappingError, confirm, view
    from ..services.aliases import AliasError
    station = open_station(args)
    if args.reject is not None:
        from ..services.mapping import reject
        try:
            where = reject(station, args.file, args.reject)
        except MappingError as e:
            raise UserError(str(e)) from None
        say(f"已拒收，文件移到 {where}。")
        return 0
    columns = _columns(args.column)
    try:
        mv = view(station, args.file, kind=args.kind, columns=columns)
    except MappingError as e:
        raise UserError(str(e)) from None
    show_view(mv)
    if not mv.ready:
        raise UserError("无法导入：" + "".join(mv.problems) +
                        "用 --kind 指定类型、用 --column '表头=字段' 指定各列后重试。")
    if args.dry_run:
        say("（--dry-run：未导入。）")
        return 0
    try:
        done = confirm(station, mv.pending, kind=mv.kind, columns=columns, save_aliases=args.save_aliases,
                       as_of=args.as_of)
    except (MappingError, AliasError) as e:
        raise UserError(str(e)) from None
    print_result(done.result)
    for alias, canonical in done.aliases_saved:
        say(f"已把「{alias}」作为「{canonical}」的别名写入 rules.yaml。")
    for note in done.alias_notes:
        say(note)
    print_evaluation(done.evaluation)
    return 0


def show_view(mv) -> None:
    p = mv.pending
    where = p.original_path if p.member is None else f"{p.container} › {p.member}"
    kind = f"{mv.kind.title}（{mv.kind.name}）" if mv.kind else "未确定"
    say(f"#{p.id} {where}  文件类型：{kind}  表头在第 {mv.header_row} 行")
    for r in mv.reasons:
        say(f"  · {r}")
    t = Table(title="各列对应关系（证件号已遮蔽）")
    for col in ("列", "表头", "示例值", "对应字段", "说明"):
        t.add_column(col)
    for c in mv.columns:
        t.add_row(str(c.index + 1), plain(c.header), plain(" | ".join(c.samples)),
                  plain(c.field_title or "（不导入）", "bold" if c.column else "dim"),
                  plain(c.reason + (f"（把握 {c.confidence:.0%}）" if not c.corrected and c.column else "")))
    table_console().print(t)
    for problem in mv.problems:
        say(f"！{problem}")
    if mv.preview:
        fields = [h for h in mv.preview[0].values] if mv.preview[0].values else \
            [c.field_title for c in mv.columns if c.column]
        t = Table(title="导入预览（前几行，按确认后的对应关系）")
        t.add_column("行号")
        for h in fields:
            t.add_column(h)
        for r in mv.preview:
            if r.rejected or r.skipped:
                t.add_row(str(r.row_no), plain(f"拒收：{r.rejected}" if r.rejected else "跳过（合计行等）",
                                               "red" if r.rejected else "dim"), *[""] * (len(fields) - 1))
            else:
                t.add_row(str(r.row_no), *[plain(r.values.get(h, "")) for h in fields])
        table_console().print(t)
    if mv.new_aliases:
        say("新表头写法（加 --save-aliases 可写入 rules.yaml）："
                                    + "、".join(f"{a} → {c}" for a, c in mv.new_aliases))
