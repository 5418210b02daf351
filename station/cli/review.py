"""Review commands: decide, history, verify. The checks are in :mod:`station.review.log`."""
from __future__ import annotations

import argparse
import os
import sys

from rich.table import Table

from ..services.anomalies import get_anomaly, masked_anomaly
from ..services.formatting import (ACTION_TITLES, ACTIONS, STATE_TITLES, STATES, ids_in, mask_personal,
                                   rule_title)
from ..services.review import (MAX_ID, ReviewError, chain_head, decide, head_check, history,
                               normalise_reviewer, verify_chain)
from .common import UserError, console, open_station, plain, say, table_console

REVIEWER_ENV = "STATION_REVIEWER"


def register(sub: argparse._SubParsersAction) -> None:
    actions = "、".join(f"{a}（{ACTION_TITLES[a]}）" for a in ACTIONS)
    p = sub.add_parser(
        "decide", help="记录复核决定  record a review decision",
        description="对疑点记录复核决定（写入只增不改的复核日志）。\n"
                    f"操作：{actions}。\n"
                    "流程：待核查 → 核查中 → 确认违规 或 排除（须写理由）→ 已整改（须填追回金额）。\n"
                    "可以直接给出疑点编号，也可以用 --rule / --status 筛选（会先请你确认）。",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ids", nargs="*", type=int, metavar="ID", help="疑点编号（可多个）")
    p.add_argument("--action", required=True, choices=ACTIONS, help="操作")
    p.add_argument("--note", help="说明（排除时必填：写明理由）")
    p.add_argument("--amount", type=float, help="追回金额，元（整改完成时必填，没有追回写 0）")
    # SUPPRESS: without it the sub-command's default (None) hides `station --reviewer X decide …`.
    p.add_argument("--reviewer", default=argparse.SUPPRESS, help=f"复核人姓名（默认取 {REVIEWER_ENV} 环境变量）")
    p.add_argument("--cleared", action="store_true", help="允许对“数据已消除”的疑点记录决定")
    p.add_argument("--rule", help="按规则编号筛选疑点，如 DEATH_PAID")
    p.add_argument("--status", help="按复核状态筛选：" + "、".join(f"{s}（{STATE_TITLES[s]}）" for s in STATES))
    p.add_argument("--yes", "-y", action="store_true", help="筛选时不再询问确认（用于脚本）")
    p.set_defaults(func=cmd_decide)

    p = sub.add_parser("history", help="查看疑点的复核记录  a decision history",
                       description="列出一条疑点的全部复核决定（按时间先后）。")
    p.add_argument("id", type=int, metavar="ID", help="疑点编号")
    p.add_argument("--unmask", action="store_true", help="显示完整身份证号码和出生日期（注意保密）")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("verify", help="校验复核日志未被篡改  verify the review log",
                       description="重新计算复核日志的哈希链，检查是否有记录被改动、删除或调换顺序；"
                                   "打印记录数和校验值，可与导出文件、报表上的校验值核对。")
    p.set_defaults(func=cmd_verify)


def _reviewer(args) -> str:
    reviewer = (getattr(args, "reviewer", None) or os.environ.get(REVIEWER_ENV) or "").strip()
    if not reviewer:
        raise UserError(f"没有指定复核人。请加 --reviewer 姓名，或设置环境变量 {REVIEWER_ENV}"
                        f"（如 export {REVIEWER_ENV}=张三）。")
    return reviewer


def _status_arg(value: str) -> str:
    by_title = {t: s for s, t in STATE_TITLES.items()}
    status = value.strip()
    status = by_title.get(status, status.lower())
    if status not in STATES:
        raise UserError(f"未知的复核状态「{value}」。可用的有："
                        + "、".join(f"{s}（{STATE_TITLES[s]}）" for s in STATES) + "。")
    return status


def _select(conn, args) -> list[int]:
    from ..services.anomalies import AnomalyFilter, FilterError, anomaly_ids
    try:
        return anomaly_ids(conn, AnomalyFilter(
            rules=[args.rule.strip().upper()] if args.rule else None,
            statuses=[_status_arg(args.status)] if args.status else None,
            data_status=None if args.cleared else "open"))
    except FilterError as e:
        raise UserError(str(e)) from None


def _confirm(prompt: str) -> bool:
    print(prompt, end="", flush=True)
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError):        # no stdin at all (closed, or captured by a test runner)
        answer = ""
    if not answer or not sys.stdin.isatty():
        print()                          # the answer was not echoed by a terminal
    if not answer:
        raise UserError("没有读到确认（标准输入为空），未记录任何决定。在脚本中使用时请加 --yes。")
    return answer.strip().lower() in ("y", "yes", "是")


def _ids_text(ids: list[int], limit: int = 10) -> str:
    shown = "、".join(f"#{i}" for i in ids[:limit])
    return shown + (f" 等 {len(ids)} 条" if len(ids) > limit else "")


def cmd_decide(args) -> int:
    filters = args.rule or args.status
    if args.ids and filters:
        raise UserError("请只用一种方式选择疑点：要么给出疑点编号，要么用 --rule / --status 筛选。")
    if not args.ids and not filters:
        raise UserError("没有选择疑点。请给出疑点编号（如 station decide 12 15 --action take），"
                        "或用 --rule / --status 筛选。")
    reviewer = _reviewer(args)
    station = open_station(args)
    conn = station.conn
    title = ACTION_TITLES[args.action]
    if filters:
        ids = _select(conn, args)
        what = "，".join(x for x in (f"规则 {args.rule.upper()}" if args.rule else "",
                                     f"状态「{STATE_TITLES.get(_status_arg(args.status))}」" if args.status else "")
                        if x)
        if not ids:
            raise UserError(f"没有符合条件（{what}）的疑点" + ("" if args.cleared else "（不含数据已消除的，"
                            "如需包括请加 --cleared）") + "。")
        if not args.yes and not _confirm(f"将对 {len(ids)} 条疑点（{what}）执行「{title}」，确认？[y/N] "):
            say("已取消，未记录任何决定。")
            return 1
    else:
        ids = args.ids
    try:
        seqs = decide(conn, station.cfg, ids, args.action, reviewer, note=args.note,
                      amount=args.amount, allow_cleared=args.cleared)
    except ReviewError as e:
        raise UserError(str(e)) from None
    done = list(dict.fromkeys(ids))
    reviewer = normalise_reviewer(reviewer)          # as stored (decide accepted it)
    where = f"第 {seqs[0]} 条" if len(seqs) == 1 else f"第 {seqs[0]}–{seqs[-1]} 条"
    if args.action == "note":
        outcome = "状态不变"
    else:
        state = get_anomaly(conn, done[0])["status"]
        outcome = f"现为「{STATE_TITLES[state]}」"
    say(f"已记录 {len(seqs)} 条决定（复核日志{where}）：{reviewer}「{title}」，"
        f"疑点 {_ids_text(done)} {outcome}。")
    entries, head = chain_head(conn)
    say(f"校验值：entries={entries} head={head}")
    return 0


def cmd_history(args) -> int:
    if not 0 < args.id <= MAX_ID:
        raise UserError(f"疑点 #{args.id} 不存在：疑点编号是不超过 19 位的正整数，请核对疑点编号"
                        "（station anomalies 可列出疑点）。")
    station = open_station(args)
    conn = station.conn
    a = get_anomaly(conn, args.id)
    if a is None:
        raise UserError(f"疑点 #{args.id} 不存在，请核对疑点编号。")
    shown = a if args.unmask else masked_anomaly(a)
    rule, subject, period, name, status, data_status = (
        a["rule"], shown["subject"], a["period"], shown["name"], a["status"], a["data_status"])
    say(f"疑点 #{args.id}  {rule_title(rule)}  {subject}"
        f"{' ' + period if period else ''}  {name or ''}  "
        f"状态：{STATE_TITLES.get(status, status)}"
        f"{'（数据已消除）' if data_status == 'cleared' else ''}", unmask=True)   # masked above
    entries = history(conn, args.id)
    if not args.unmask:       # notes are masked like everything else (IDs, the birth dates of
        context = ids_in(a, [e["note"] for e in entries])   # the subject and of any ID a note names)
        entries = [{**e, "note": mask_personal(e["note"], context)} for e in entries]
    if not entries:
        say("尚无复核记录。")
        return 0
    t = Table()
    for col in ("序号", "时间", "复核人", "决定", "说明", "当时金额", "追回金额"):
        t.add_column(col, overflow="fold")          # a note is shown whole, never cut
    for e in entries:
        involved = (e["anomaly_amount_text"] if e["legacy"] else       # not recorded by older releases
                    "" if e["anomaly_amount"] is None else f"{e['anomaly_amount']:,.2f}")
        t.add_row(str(e["seq"]), plain(e["at"].replace("T", " ")), plain(e["reviewer"]), e["action_title"],
                  plain(e["note"] or "", unmask=True), involved, "" if e["amount"] is None else f"{e['amount']:,.2f}")
    table_console().print(t)
    if entries[-1]["action"] == "amount_changed":     # nobody has decided since
        say(f"注意：作出决定后该疑点的金额已变化（第 {entries[-1]['seq']} 条），请按新金额重新核查。")
    return 0


def cmd_verify(args) -> int:
    station = open_station(args)
    result = verify_chain(station.conn)
    rollback = head_check(station)
    if rollback.restored:
        r = rollback.restored
        say(f"注意：本站于 {str(r.get('at', '')).replace('T', ' ')} 用 station restore 从备份「{r.get('from')}」恢复，"
            f"回退了 {r.get('lost_entries') or 0} 条复核记录"
            + (f"（恢复前 entries={r['entries_before']} head={r['head_before']}，旧数据库保留为 "
               "station.db.before-restore-…）" if r.get("entries_before") is not None else "") + "。")
    if result.ok and not rollback.ok:
        say(f"复核日志校验失败：{rollback.reason}", err=True)
        say(f"当前：entries={result.entries} head={result.head}", err=True)
        say("请保留数据库文件现状，与备份、导出文件和报表上的校验值核对，报告上级。", err=True)
        return 1
    if result.ok:
        say(f"复核日志完整：共 {result.entries} 条记录，哈希链和最近一次写入的登记一致。")
        if result.legacy_entries:
            say(f"其中前 {result.legacy_entries} 条由旧版本写入（按旧格式校验，未记录当时的姓名和金额）"
                + (f"，已由第 {result.legacy_entries + 1} 条升级记录封存。" if result.sealed else "，尚未封存。"))
        say(f"校验值：entries={result.entries} head={result.head}")
        say("请与此前导出的核查台账、月报上打印的校验值核对：记录数相同时校验值应完全一致。")
        return 0
    say(f"复核日志校验失败：{result.reason}", err=True)          # plain, IDs masked
    if result.first_broken_seq is not None:
        where = f"第一处问题：第 {result.first_broken_seq} 条记录"
        if result.broken_at:
            where += f"（时间 {result.broken_at.replace('T', ' ')}，疑点 #{result.broken_anomaly}）"
        say(where, err=True)
    if not rollback.ok:
        say(rollback.reason, err=True)
    say(f"当前：entries={result.entries} head={result.head}", err=True)
    say("复核日志只能由本站追加，不能改动或删除。请保留数据库文件现状，"
        "并与导出文件、报表上的校验值和备份核对，报告上级。", err=True)
    return 1
