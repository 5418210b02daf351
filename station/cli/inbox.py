"""Commands for deliveries: ingest, watch, status, check-config, demo."""
from __future__ import annotations

import argparse
import datetime as dt
import signal
import threading
from pathlib import Path

from rich.table import Table

from ..services.inbox import LEFT_IN_PLACE_NOTE, PUT_BACK_NOTE, DeliveryResult
from ..kinds.spec import DEPARTMENTS
from .common import as_of_arg, console, open_station, plain, say, table_console

STATUS_TITLES = {"applied": "已导入", "duplicate": "重复", "rejected": "已拒收", "held": "待确认",
                 "unpacked": "压缩包"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="导入收件箱（或指定文件）一次  apply the inbox once",
                       description="导入收件箱中的全部文件（或指定的文件），然后重新比对。")
    p.add_argument("files", nargs="*", type=Path, help="要导入的文件（默认：收件箱中全部）")
    p.add_argument("--as-of", type=as_of_arg, metavar="DATE", help="比对基准日（默认今天）")
    p.add_argument("--no-evaluate", action="store_true", help="只导入，不重新比对")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("watch", help="持续监视收件箱  watch the inbox (headless)",
                       description="持续监视收件箱，文件放入后自动导入并比对。按 Ctrl+C 停止。")
    p.add_argument("--poll", action="store_true", help="轮询方式（用于网络共享文件夹）")
    p.add_argument("--as-of", type=as_of_arg, metavar="DATE", help="比对基准日（默认今天）")
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("init", help="新建工作目录  create a station home",
                       description="在 DIR 新建监督站工作目录：收件箱（各部门子文件夹）、数据库和导出文件夹。"
                                   "其他命令只打开已有的工作目录，不会因为 --home 写错而新建。")
    p.add_argument("dir", type=Path, metavar="DIR", help="新工作目录的位置")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("status", help="登记库数量与最近收件  register counts and recent deliveries")
    p.add_argument("--recent", type=int, default=10, help="显示最近多少条收件记录")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("check-config", help="检查 rules.yaml  validate rules.yaml")
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("demo", help="生成演示数据并启动  create a demo home and start",
                       description="在 DIR（默认 ./demo-home）生成一个演示县的数据并启动监督站。")
    p.add_argument("dir", nargs="?", default="demo-home", type=Path)
    p.add_argument("--persons", type=int, default=3000, help="演示县参保人数")
    p.add_argument("--no-start", action="store_true", help="只生成数据，不启动")
    p.add_argument("--headless", action="store_true", help="不打开界面，只导入并监视收件箱")
    p.set_defaults(func=cmd_demo)


def print_result(r: DeliveryResult) -> None:
    status = STATUS_TITLES.get(r.status, r.status)
    if r.status == "applied":
        extra = f"{r.kind_title}  导入 {r.rows_applied} 行"
        if r.rows_rejected:
            extra += f"，拒收 {r.rows_rejected} 行"
        if r.rows_skipped:
            extra += f"，跳过 {r.rows_skipped} 行（合计行等）"
        if r.recovered:
            extra += "（上次中断，已补完归档）"
    else:
        extra = r.reason or ""
    if r.put_back:
        extra += f"  {PUT_BACK_NOTE}"
    if r.left_in_place:
        extra += f"  {LEFT_IN_PLACE_NOTE}"
    say(f"[{status}] {r.name}  {extra}")


def print_evaluation(ev) -> None:
    if ev is None:
        return
    say(f"比对完成（基准日 {ev.as_of}）：新增疑点 {ev.new}，数据已消除 {ev.cleared}，"
        f"重新出现 {ev.reopened}，当前未消除 {ev.open_count}。用时 {ev.seconds:.2f} 秒。")


def cmd_ingest(args) -> int:
    station = open_station(args, create=True)
    files = args.files or None
    if files is None and not station.pending_files():
        say("收件箱中没有待导入的文件。")
    report = station.ingest(files, as_of=args.as_of, evaluate=not args.no_evaluate,
                            on_result=print_result)
    for r in report.waiting:
        say(f"[未导入] {r.name}  {r.reason}请稍后再运行 station ingest。")
    counts = {s: sum(1 for r in report.results if r.status == s) for s in STATUS_TITLES}
    if report.results:
        say(f"共 {len(report.results)} 个文件：已导入 {counts['applied']}，"
            f"重复 {counts['duplicate']}，已拒收 {counts['rejected']}"
            + (f"，待确认 {counts['held']}（station pending 查看）" if counts["held"] else "") + "。")
    print_evaluation(report.evaluation)
    return 0


def cmd_watch(args) -> int:
    from ..services.inbox import InboxWatcher
    station = open_station(args, create=True)
    watcher = InboxWatcher(station.home, lambda files: _apply(station, files, args.as_of),
                           poll=args.poll, on_error=_watch_error,
                           quiet_seconds=station.cfg.limits.quiet_seconds)
    say(f"正在监视 {station.home.inbox}（{'轮询' if args.poll else '实时'}）。按 Ctrl+C 停止。")
    signal.signal(signal.SIGTERM, lambda *_: watcher.stop())
    thread = threading.Thread(target=watcher.run, name="watcher", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        watcher.stop()
        thread.join(5)
    say("已停止监视。")
    return 0


def _watch_error(e: BaseException) -> None:
    from ..services.storage import RegisterError
    message = str(e) if isinstance(e, RegisterError) else f"{type(e).__name__}：{e}"
    say(f"错误：{message}（文件留在收件箱中，稍后自动重试。）", err=True)


def _apply(station, files, as_of) -> None:
    report = station.ingest(files, as_of=as_of, on_result=print_result, wait_for_complete=True)
    print_evaluation(report.evaluation)


def cmd_init(args) -> int:
    from ..home import Home
    home = Home(args.dir.expanduser().resolve())
    if home.is_station():
        say(f"{home.root} 已是监督站的工作目录，未作改动。")
        return 0
    station = open_station(argparse.Namespace(home=str(home.root)), create=True)
    station.conn                   # the register, with its schema
    say(f"已创建工作目录 {home.root}：把各部门的文件放进 {home.inbox} 中对应的子文件夹，"
        f"然后运行 station --home {home.root}（或 station --home {home.root} ingest）。")
    return 0


def cmd_status(args) -> int:
    from ..kinds.spec import KINDS
    station = open_station(args)
    st = station.status(recent=args.recent)
    t = Table(title=plain(f"登记库 {station.home.db_path}"))     # a folder name may hold brackets
    t.add_column("类型")
    t.add_column("部门")
    t.add_column("记录数", justify="right")
    for name, count in st["kinds"].items():
        spec = KINDS[name]
        t.add_row(f"{spec.title} ({name})", DEPARTMENTS[station.cfg.kinds[name].department], str(count))
    console.print(t)
    ledger = st["ledger"]
    say(f"收件记录：已导入 {ledger.get('applied', 0)}，重复 {ledger.get('duplicate', 0)}，"
        f"已拒收 {ledger.get('rejected', 0)}，待确认 {ledger.get('held', 0)}；"
        f"收件箱待处理 {len(station.pending_files())} 个文件。")
    if note := station.links_note():
        say(f"注意：{note}")
    if st["recent"]:
        t = Table(title="最近收件")
        for col in ("编号", "文件", "类型", "状态", "导入", "拒收", "时间"):
            t.add_column(col)
        for d in st["recent"]:
            t.add_row(str(d["id"]), plain(d["original_name"]), KINDS[d["kind"]].title if d["kind"] else "",
                      STATUS_TITLES.get(d["status"], d["status"]), str(d["rows_applied"] or 0),
                      str(d["rows_rejected"] or 0), plain(d["received_at"]))
        table_console().print(t)
    reg = st.get("register") or {}
    line = f"程序版本：station {reg.get('station_version')}；登记库版本：{reg.get('schema_version')}"
    if reg.get("upgraded_from_schema"):
        line += (f"（{(reg.get('upgraded_at') or '').replace('T', ' ')} 由版本 {reg['upgraded_from_schema']} 升级，"
                 f"升级前的备份：{reg.get('upgrade_backup') or '无'}）")
    elif reg.get("created_by"):
        line += f"（由 station {reg['created_by']} 创建）"
    say(line + "。")
    ev = st["last_evaluation"]
    if ev:
        say(f"最近一次比对：基准日 {ev['as_of']}，完成于 {ev['finished_at']}，"
            f"未消除疑点 {ev['open_count']}。")
    return 0


def cmd_check_config(args) -> int:
    station = open_station(args)
    where = station.cfg.source
    say(f"配置文件正确：{where}")
    return 0


def cmd_demo(args) -> int:
    from ..services.demo import generate_county
    from ..home import Home
    home = Home(args.dir.expanduser().resolve())
    fresh = not home.db_path.exists()
    home.ensure()
    if fresh and not any(p.is_file() for p in home.inbox.rglob("*") if p.name != "README.md"):
        # Generated for today, so that grace periods and ages in the demo stay realistic.
        generate_county(home.inbox, persons=args.persons, as_of=dt.date.today(), money=True)
        say(f"已在 {home.root} 生成演示数据（{args.persons} 名参保人员）。")
    if args.no_start:
        say(f"启动：station --home {home.root}")
        return 0
    args.home = str(home.root)
    if args.headless:
        cmd_ingest(argparse.Namespace(home=args.home, files=[], as_of=None, no_evaluate=False))
        return cmd_watch(argparse.Namespace(home=args.home, poll=False, as_of=None))
    from .tui import run_tui
    return run_tui(args)
