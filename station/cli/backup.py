"""Backup commands: backup, restore. The logic is in :mod:`station.services.backup`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import console, say


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help="备份数据库  a consistent copy of the database",
                       description="在监督站运行时也可以备份：生成数据库的一致副本 "
                                   "station-backup-年月日-时分秒.db（仅本人可读），并检查副本完整。"
                                   "默认存放在工作目录的 backups/ 中；请定期把备份复制到另一块磁盘或加密 U 盘。")
    p.add_argument("dir", nargs="?", type=Path, metavar="DIR", help="存放备份的文件夹（默认：工作目录/backups）")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="从备份恢复数据库  restore the database from a backup",
                       description="先检查备份文件（数据库完整性、复核日志哈希链），通过后才替换当前数据库；"
                                   "当前数据库保留为 station.db.before-restore-时间。恢复前请关闭审核界面和收件箱监视。")
    p.add_argument("file", type=Path, metavar="FILE", help="station backup 生成的备份文件")
    p.add_argument("--yes", action="store_true",
                   help="不询问，直接恢复（供脚本使用）；恢复前仍会列出将丢失的复核记录和报送")
    p.set_defaults(func=cmd_restore)


def _home(args):
    from ..home import resolve_home
    return resolve_home(args.home)


def cmd_backup(args) -> int:
    from ..log import setup
    from ..services.backup import backup
    home = _home(args)
    folder = (args.dir.expanduser() if args.dir else home.root / "backups").resolve()
    if home.root.is_dir():
        setup(home.root)
    info = backup(home.db_path, folder)
    say(f"已备份到 {info.path}（{info.size / 1024 / 1024:.1f} MB，用时 {info.seconds:.1f} 秒），"
        "副本已通过完整性检查。")
    say(f"校验值：entries={info.entries} head={info.head}")
    if not info.chain_ok:
        say(f"注意：当前复核日志校验不通过（{info.chain_reason}）。备份如实保留了现状，"
            "可作为证据；请运行 station verify 查明原因并报告上级。")
    say("请把备份复制到另一块磁盘或加密 U 盘保存：备份含个人信息，注意保密。")
    return 0


def cmd_restore(args) -> int:
    from ..home import check_local
    from ..log import setup
    from ..services.backup import restore_plan, restore_station
    from .common import UserError
    home = _home(args)
    if not home.root.is_dir():
        raise UserError(f"工作目录 {home.root} 不存在。请用 --home 指定要恢复到的工作目录。")
    check_local(home.root)
    setup(home.root)
    plan = restore_plan(home.db_path, args.file)
    say(plan.describe())
    if plan.loses_anything and not args.yes:
        if not sys.stdin.isatty():
            raise UserError("未恢复：恢复会丢失上面列出的内容，需要确认。确认无误后请加 --yes 再运行。")
        answer = input("确认恢复？输入“是”继续，其他任何输入取消：").strip().lower()
        if answer not in ("是", "yes", "y"):
            say("未恢复，数据库没有改动。")
            return 1
    info, put_back = restore_station(home, args.file, plan)
    say(f"已从 {args.file} 恢复数据库（备份已通过完整性检查和复核日志校验）。")
    if put_back:
        say(f"备份之后收到的 {len(put_back)} 个文件已放回收件箱，下次导入时会重新导入："
            + "、".join(put_back[:8]) + ("……" if len(put_back) > 8 else ""))
    if info.kept_as is not None:
        say(f"原数据库保留为 {info.kept_as}。确认恢复无误后可自行删除。")
    say(f"校验值：entries={info.entries} head={info.head}")
    say("请与备份时打印的校验值、导出文件和报表上的校验值核对。")
    return 0
