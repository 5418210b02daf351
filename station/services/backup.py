"""Backups of the register, and restoring one (a service: a copy is checked against the
review log's hash chain, which lives above the register).

:func:`backup` copies the live database with SQLite's online backup API in one step:
the copy is one consistent state even while the watcher applies deliveries and
reviewers record decisions (it holds a read transaction; writers carry on in WAL mode).
The copy is written to a temporary file, switched to a self-contained rollback journal
(no ``-wal`` beside it), checked (``PRAGMA integrity_check``), fsynced and only then
renamed to ``station-backup-YYYYMMDD-HHMMSS.db``, owner-only (0600), in a 0700 folder.

:func:`restore` checks a copy before it replaces anything: it must be an SQLite file
that passes ``integrity_check``, hold the station's tables at a schema version this
station knows, and have an intact review log (:func:`station.review.log.verify_chain`).
The current database must not be in use by another station program (the watcher, the
TUI): it is switched out of WAL mode, which SQLite refuses while another connection is
open. The current file is kept as ``station.db.before-restore-<time>`` (a hard link made
before the replacement, so that ``station.db`` exists at every instant), and the checked
copy replaces it with one ``os.replace``.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from ..log import log
from ..register.copy import write_copy
from ..register.db import RegisterError, connect, storage_error

BACKUP_PREFIX = "station-backup-"
REQUIRED_TABLES = {"meta", "deliveries", "anomalies", "decisions"}


class BackupError(RegisterError):
    """A backup or restore was refused or failed; ``str(e)`` says why in Chinese."""


@dataclass
class BackupInfo:
    path: Path
    size: int
    entries: int              # review-log entries in the copy
    head: str                 # review-log head in the copy
    chain_ok: bool
    chain_reason: str | None = None
    seconds: float = 0.0
    kept_as: Path | None = None   # restore: where the replaced database was kept


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _unique(folder: Path, stem: str, suffix: str) -> Path:
    path = folder / f"{stem}{suffix}"
    n = 2
    while path.exists():
        path = folder / f"{stem}-{n}{suffix}"
        n += 1
    return path


def check_copy(path: Path, shown: Path | None = None) -> BackupInfo:
    """Open ``path`` as a station database and check it; raise :class:`BackupError` with
    the reason (naming ``shown``, default ``path``) when it is not a usable copy. Does
    not change the file."""
    from ..review.log import verify_chain
    from ..register.schema import SCHEMA_VERSION
    name = shown or path
    from urllib.parse import quote
    uri = f"file:{quote(str(path))}?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as e:
        raise BackupError(f"无法打开 {name}：{e}。请确认这是 station backup 生成的备份文件。") from None
    try:
        try:
            result = conn.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.DatabaseError as e:
            if "malformed" in str(e):
                raise BackupError(f"备份文件 {name} 已损坏（{e}），不能用来恢复。请换一个较早的备份。") from None
            raise BackupError(f"{name} 不是有效的数据库文件（{e}）。请选择 station backup 生成的 .db 备份文件。") from None
        if result != [("ok",)]:
            first = "；".join(str(r[0]) for r in result[:3])
            raise BackupError(f"备份文件 {name} 已损坏（数据库完整性检查未通过：{first}），不能用来恢复。"
                              "请换一个较早的备份。")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = REQUIRED_TABLES - tables
        if missing:
            raise BackupError(f"{name} 不是本站的数据库备份（缺少 {'、'.join(sorted(missing))} 表）。"
                              "请选择 station backup 生成的备份文件。")
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row and str(row[0]).isdigit() else 0
        if version > SCHEMA_VERSION:
            raise BackupError(f"备份文件 {name} 由较新版本的 station 生成（数据库版本 {version}，本程序支持到 "
                              f"{SCHEMA_VERSION}），请先升级 station 再恢复。")
        chain = verify_chain(conn)
        return BackupInfo(path, path.stat().st_size, chain.entries, chain.head, chain.ok, chain.reason)
    finally:
        conn.close()


def backup(db_path: Path, folder: Path) -> BackupInfo:
    """Write a consistent, checked copy of ``db_path`` into ``folder``."""
    started = time.perf_counter()
    db_path = Path(db_path)
    if not db_path.exists():
        raise BackupError(f"数据库 {db_path} 不存在，没有可备份的内容。请用 --home 指定正确的工作目录。")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise BackupError(f"{folder} 是一个文件，不是文件夹。请给出存放备份的文件夹。")
    old_umask = os.umask(0o077)
    tmp: Path | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        final = _unique(folder, BACKUP_PREFIX + _stamp(), ".db")
        tmp = folder / f".{final.name}.part"
        src = connect(db_path, create=False)
        try:
            write_copy(src, tmp)
        finally:
            src.close()
        info = check_copy(tmp)
        os.replace(tmp, final)
        tmp = None
        _fsync_dir(folder)
    except BackupError:
        raise
    except (sqlite3.Error, OSError) as e:
        raise storage_error(e, f"备份到 {folder} ") from None
    finally:
        os.umask(old_umask)
        if tmp is not None:
            for leftover in (tmp, Path(f"{tmp}-journal")):
                try:
                    leftover.unlink()
                except OSError:
                    pass
    info.path = final
    info.seconds = time.perf_counter() - started
    log.info("backup written entries=%d chain_ok=%s size=%d seconds=%.2f", info.entries, info.chain_ok,
             info.size, info.seconds)
    return info


def _exclusive(db_path: Path) -> sqlite3.Connection | None:
    """A connection holding the current database exclusively, or raise when another
    program has it open. None when there is no current database."""
    if not db_path.exists():
        for suffix in ("-wal", "-shm"):
            if Path(f"{db_path}{suffix}").exists():
                raise BackupError(f"{db_path}{suffix} 存在，但数据库文件本身不见了。请先查明原因（不要删除它），"
                                  "再恢复。")
        return None
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=1.0)
    try:
        mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        if str(mode).lower() != "delete":
            raise sqlite3.OperationalError("database is locked")
        conn.execute("BEGIN EXCLUSIVE")
    except sqlite3.OperationalError as e:
        conn.close()
        if "locked" in str(e) or "busy" in str(e):
            raise BackupError("数据库正在被其他 station 程序使用（收件箱监视、审核界面或正在运行的命令）。"
                              "请先关闭它们，再运行 station restore。") from None
        raise
    except sqlite3.DatabaseError:
        conn.close()
        return None                      # the current file is damaged: replace it anyway
    return conn


def restore(db_path: Path, source: Path) -> BackupInfo:
    """Replace ``db_path`` by the checked copy ``source``; the current file is kept."""
    started = time.perf_counter()
    db_path, source = Path(db_path), Path(source).expanduser()
    try:
        st = source.stat()
    except OSError:
        raise BackupError(f"找不到备份文件 {source}。请给出 station backup 生成的 .db 文件的路径。") from None
    if not stat.S_ISREG(st.st_mode):
        raise BackupError(f"{source} 不是文件。请给出 station backup 生成的 .db 文件的路径。")
    if source.resolve() == db_path.resolve():
        raise BackupError("不能用当前数据库恢复它自己。请给出备份文件的路径。")

    folder = db_path.parent
    stamp = _stamp()
    staged = folder / f".{db_path.name}.restore-{stamp}.part"
    old_umask = os.umask(0o077)
    holder = None
    try:
        shutil.copyfile(source, staged)       # check and install a private copy, never the source
        os.chmod(staged, 0o600)
        conn = sqlite3.connect(staged, isolation_level=None)
        try:
            try:
                conn.execute("PRAGMA journal_mode = DELETE")
            except sqlite3.DatabaseError:
                pass                           # check_copy names the problem
        finally:
            conn.close()
        info = check_copy(staged, shown=source)
        if not info.chain_ok:
            raise BackupError(f"备份文件 {source} 中的复核日志校验不通过（{info.chain_reason}），"
                              "不能用来恢复。请换一个较早的备份，并把此情况报告上级。")
        with open(staged, "rb+") as f:
            os.fsync(f.fileno())
        holder = _exclusive(db_path)
        kept = None
        if db_path.exists():
            kept = _unique(folder, f"{db_path.name}.before-restore-{stamp}", "")
            try:
                os.link(db_path, kept)
            except OSError:
                shutil.copy2(db_path, kept)
            os.chmod(kept, 0o600)
        os.replace(staged, db_path)
        _fsync_dir(folder)
    except BackupError:
        raise
    except (sqlite3.Error, OSError) as e:
        raise storage_error(e, "恢复数据库") from None
    finally:
        os.umask(old_umask)
        if holder is not None:
            holder.close()
        for leftover in (staged, Path(f"{staged}-journal"), Path(f"{staged}-wal"), Path(f"{staged}-shm")):
            try:
                leftover.unlink()
            except OSError:
                pass
    conn = connect(db_path)                      # WAL again, schema upgraded if older
    try:
        from ..review.log import verify_chain
        chain = verify_chain(conn)
    finally:
        conn.close()
    info = BackupInfo(db_path, db_path.stat().st_size, chain.entries, chain.head, chain.ok,
                      chain.reason, time.perf_counter() - started, kept)
    log.info("database restored from a backup entries=%d chain_ok=%s seconds=%.2f", info.entries,
             info.chain_ok, info.seconds)
    return info


def list_backups(folder: Path) -> list[Path]:
    return sorted(Path(folder).glob(f"{BACKUP_PREFIX}*.db"))
