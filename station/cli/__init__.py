"""The ``station`` command line: a thin layer over :mod:`station.services`.

Each command group lives in its own module with a ``register(subparsers)`` function.
"""
from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..config import ConfigError
from ..home import HomeError
from ..services.storage import STORAGE_ERRORS, RegisterError, StorageError
from .common import UserError, close_stations, say
from . import anomalies as _anomalies
from . import backup as _backup
from . import export as _export
from . import inbox as _inbox
from . import mapping as _mapping
from . import review as _review

COMMAND_MODULES = [_inbox, _mapping, _anomalies, _review, _export, _backup]

EPILOG = """常用命令 common commands:
  station                   打开审核界面        open the review station (TUI)
  station demo              生成演示数据并启动  create a demo home and start the station
  station init DIR          新建工作目录        create a station home in DIR
  station ingest            导入收件箱中的文件  apply everything in inbox/
  station watch             持续监视收件箱      watch inbox/ and apply deliveries as they arrive
  station status            查看登记库和收件记录 register counts and recent deliveries
  station pending           待确认的文件        files waiting for their kind and columns
  station map FILE          确认对应关系并导入  confirm a held file's mapping and apply it
  station backup            备份数据库          a consistent copy of the database
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="station", description="基金监督站 — fund supervision station",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", metavar="DIR",
                        help="工作目录（默认取 STATION_HOME 环境变量，否则为当前目录）")
    parser.add_argument("--reviewer", metavar="NAME",
                        help="审核人姓名，记入每条核查记录（默认取 STATION_REVIEWER 环境变量，否则启动时询问）")
    parser.add_argument("--version", action="version", version=f"station {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):         # no command: open the review station
        from .tui import run_tui
        args.func = run_tui
    try:
        return args.func(args) or 0
    except (ConfigError, HomeError, RegisterError, UserError) as e:
        say(f"错误：{e}", err=True)     # messages quote file names and paths: plain, controls visible
        return 3 if isinstance(e, StorageError) else 2
    except BrokenPipeError:                      # `station anomalies | head`: not an error
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except STORAGE_ERRORS as e:                  # the disk or the database, never a traceback
        from ..log import log
        from ..services.storage import storage_error, storage_kind
        log.error("command %s failed: storage error kind=%s class=%s", getattr(args, "command", None),
                  storage_kind(e), type(e).__name__)
        say(f"错误：{storage_error(e, '执行命令')}", err=True)
        return 3
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return 130
    finally:
        close_stations()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
