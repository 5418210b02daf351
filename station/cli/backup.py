"""Backup commands: backup, restore. The logic is in :mod:`station.services.backup`."""
from __future__ import annotations

import argparse
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
    from ..services.backup import restore
    home = _home(args)
    if not home.root.is_dir():
        from .common import UserError
        raise UserError(f"工作目录 {home.root} 不存在。请用 --home 指定要恢复到的工作目录。")
    check_local(home.root)
    setup(home.root)
    info = restore(home.db_path, args.file)
    say(f"已从 {args.file} 恢复数据库（备份已通过完整性检查和复核日志校验）。")
    if info.kept_as is not None:
        say(f"原数据库保留为 {info.kept_as}。确认恢复无误后可自行删除。")
    say(f"校验值：entries={info.entries} head={info.head}")
    say("请与备份时打印的校验值、导出文件和报表上的校验值核对。")
    return 0
