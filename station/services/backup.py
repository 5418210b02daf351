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


# ---------------------------------------------------------------- restoring a whole station

@dataclass
class RestorePlan:
    """What restoring ``source`` over the current database loses (issue 17: a restore is
    never a silent rollback)."""
    decisions_lost: int = 0
    decisions_first: str | None = None          # time of the first decision lost
    decisions_last: str | None = None
    deliveries_lost: list[dict] | None = None   # ledger rows after the backup
    backup_latest: str | None = None            # the latest time recorded in the backup

    @property
    def loses_anything(self) -> bool:
        return bool(self.decisions_lost or self.deliveries_lost)

    def describe(self) -> str:
        """Chinese: what will be lost, with dates."""
        if not self.loses_anything:
            return "当前数据库中没有比备份更新的复核记录或报送，恢复不会丢失任何内容。"
        parts = []
        if self.decisions_lost:
            parts.append(f"{self.decisions_lost} 条复核记录（{_when(self.decisions_first)} 至 "
                         f"{_when(self.decisions_last)}），恢复后需要重新录入")
        rows = self.deliveries_lost or []
        if rows:
            names = "、".join(r["original_name"] for r in rows[:8]) + ("……" if len(rows) > 8 else "")
            parts.append(f"{len(rows)} 份报送（收件时间 {_when(rows[0]['received_at'])} 至 "
                         f"{_when(rows[-1]['received_at'])}：{names}），其原件将放回收件箱并重新导入")
        latest = f"备份中最新的记录时间是 {_when(self.backup_latest)}。" if self.backup_latest else ""
        return "恢复将回退到备份时的状态，丢失此后的：" + "；".join(parts) + "。" + latest


def _when(iso: str | None) -> str:
    return (iso or "未知").replace("T", " ")


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)


def restore_plan(db_path: Path, source: Path) -> RestorePlan:
    """Compare the backup ``source`` with the current database (neither is changed)."""
    db_path, source = Path(db_path), Path(source).expanduser()
    plan = RestorePlan(deliveries_lost=[])
    if not db_path.exists() or not source.is_file():
        return plan
    try:
        old = _read_only(source)
        try:
            top_seq = old.execute("SELECT coalesce(max(seq), 0) FROM decisions").fetchone()[0]
            top_id = old.execute("SELECT coalesce(max(id), 0) FROM deliveries").fetchone()[0]
            plan.backup_latest = old.execute(
                "SELECT max(t) FROM (SELECT max(at) AS t FROM decisions UNION ALL"
                " SELECT max(received_at) FROM deliveries)").fetchone()[0]
        finally:
            old.close()
        cur = _read_only(db_path)
        try:
            plan.decisions_lost, plan.decisions_first, plan.decisions_last = cur.execute(
                "SELECT count(*), min(at), max(at) FROM decisions WHERE seq > ?", (top_seq,)).fetchone()
            cur.row_factory = sqlite3.Row
            plan.deliveries_lost = [dict(r) for r in cur.execute(
                "SELECT id, original_name, original_path, stored_path, status, received_at FROM deliveries"
                " WHERE id > ? ORDER BY id", (top_id,))]
        finally:
            cur.close()
    except sqlite3.DatabaseError:
        pass                       # restore's own checks say what is wrong with either file
    return plan


def restore_station(home, source: Path, plan: RestorePlan) -> tuple[BackupInfo, list[str]]:
    """Restore ``source`` (see :func:`restore`), put the originals of the deliveries it
    loses back into the inbox, and record the rollback in the review log's head file
    (station.review.head), deliberately. Returns the restore's info and the inbox paths
    of the files put back."""
    from ..review import head
    before = head.read(head.path_for(home.db_path))
    info = restore(home.db_path, source)
    put_back = _put_back(home, plan.deliveries_lost or [])
    head.write(head.path_for(home.db_path), info.entries, info.head, restored={
        "at": time.strftime("%Y-%m-%dT%H:%M:%S"), "from": Path(source).name,
        "entries_before": before["entries"] if before else None,
        "head_before": before["head"] if before else None,
        "lost_entries": plan.decisions_lost, "deliveries_put_back": len(put_back)})
    log.info("restore: %d decisions lost, %d deliveries put back into the inbox", plan.decisions_lost,
             len(put_back))
    return info, put_back


def _put_back(home, rows: list[dict]) -> list[str]:
    """Move each kept original (once: a zip's members share their zip) back to where it
    was delivered in the inbox, never over another file."""
    done, out = set(), []
    inbox = home.inbox.resolve()
    for r in rows:
        stored = r.get("stored_path")
        if not stored or stored in done:
            continue
        done.add(stored)
        src = home.root / stored
        if not src.is_file() or src.is_symlink():
            continue
        dest = (home.inbox / (r.get("original_path") or r["original_name"])).resolve()
        if inbox not in dest.parents:             # a path from the ledger never leaves the inbox
            dest = home.inbox / Path(r["original_name"]).name
        dest.parent.mkdir(parents=True, exist_ok=True)
        stem, suffix = dest.stem, dest.suffix
        n = 2
        while dest.exists() or dest.is_symlink():
            dest = dest.with_name(f"{stem} ({n}){suffix}")
            n += 1
        os.replace(src, dest)
        Path(f"{src}.reason.txt").unlink(missing_ok=True)
        out.append(str(dest.relative_to(home.inbox)))
    return out
