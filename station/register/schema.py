"""The register's schema: one table per delivery kind, the delivery ledger, anomalies and
the review log. Managed with sqlite-utils; created idempotently on every connect.

Kind tables mirror :mod:`station.kinds.spec`: one column per field (an ``id`` field also
gets ``<column>_valid``), plus

- ``nk``          the natural key (see :func:`station.kinds.mapping.natural_key`), unique:
                  re-delivering a record updates it in place (upsert);
- ``delivery_id`` the ledger entry of the delivery that last wrote the record;
- ``row_no``      its row number in that delivery — evidence for reviewers.

**Versions and upgrades.** ``meta.schema_version`` is the register's own version. Opening
a register of an older version upgrades it in place (:func:`ensure_schema`): under the
write lock, a consistent copy is first written beside the database
(``station-schema<old>-before-upgrade-<time>.db``, owner-only), then every step runs in
ONE transaction — a step that fails rolls everything back and the register stays as it
was, readable by the release that wrote it (:class:`UpgradeError`, in Chinese). A
register of a NEWER version is refused (:class:`NewerRegisterError`), never downgraded.
Tests: tests/test_upgrade.py with one register per released schema under
tests/fixtures/registers/ (made by the old release's own code).
"""
from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from .. import __version__
from ..kinds.spec import KINDS, KindSpec, kind_columns
from .errors import RegisterError

SCHEMA_VERSION = 8     # 2: anomalies_queue index (idempotent upgrade of version-1 registers)
                       # 3: no index nothing reads (kind tables' delivery_id, payments' period):
                       #    every row of every delivery paid for them; persons_unchecked_id
                       # 4: the money side: contributions_due, tax_collections,
                       #    fund_account_entries, bank_returns; payments.account_no
                       # 5: deliveries.container_id / member (zip members), resolved_by (held files)
                       # 6: assessments and collections indexed by (unit, period, 险种)
                       # 7: review-log entries record what they decided on (decisions.body,
                       #    station.review.entry format 2); anomaly_id may be NULL (the
                       #    station's own entries); an INSERT that is not the next seq is
                       #    refused (INSERT OR REPLACE replaced entries without a trigger).
                       # 8: collections also indexed by (险种, 入库日期, 实缴金额): TRANSFER_SHORT's
                       #    months are summed off the index instead of sorting every collection
                       # Released: 3 (station 0.1.0, 8f14cf6); 4 to 6 were never released.

# Indexes that the rules join and filter on (NOTES.md: index, then ANALYZE). Every index
# costs every row of every delivery (bench/run.py): add one only for a query that uses it.
KIND_INDEXES: dict[str, list[tuple[str, ...]]] = {
    "persons": [("id_number",), ("status",), ("name",)],
    "units": [("credit_code",)],
    "payments": [("id_number", "period")],
    "subsidies": [("id_number",)],
    "resident_medical": [("id_number", "year")],
    "household_deaths": [("id_number",)],
    "cremations": [("id_number",), ("name", "birth_date")],
    "enterprises": [("credit_code",)],
    "new_students": [("id_number",)],
    "disability_changes": [("id_number", "change_date")],
    "scan_index": [("subject",)],
    "contributions_due": [("unit_no", "period", "insurance")],
    "tax_collections": [("unit_no", "period", "insurance"), ("credit_code",),
                        ("insurance", "paid_date", "amount_paid")],
    "bank_returns": [("account_no",)],
}


# Ledger columns added in version 5 (station.inbox.members, station.inbox.held).
DELIVERY_COLUMNS_V5 = {
    "container_id": int,      # a zip member: the ledger entry of its zip
    "member": str,            # a zip member: its path inside the zip
    "resolved_by": int,       # a held file: the ledger entry that applied it once confirmed
}


class NewerRegisterError(RegisterError):
    """The register was written by a newer release (a higher schema version)."""


class UpgradeError(RegisterError):
    """Upgrading an older register failed; nothing of the upgrade was kept."""


def register_version(conn: sqlite3.Connection) -> int | None:
    """The register's schema version; None for an empty database (nothing created yet),
    0 for a register that has tables but never recorded a version."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone():
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    try:
        return int(row[0]) if row else 0
    except (TypeError, ValueError):
        return 0


def register_info(conn: sqlite3.Connection) -> dict:
    """What the register says about itself, for ``station status``: its schema version,
    the release that created it, and its last upgrade (from, by, when, backup)."""
    keys = ("created_by", "upgraded_from_schema", "upgraded_by", "upgraded_at", "upgrade_backup")
    got = dict(conn.execute(f"SELECT key, value FROM meta WHERE key IN ({', '.join('?' * len(keys))})",
                            keys).fetchall())
    return {"schema_version": register_version(conn), "supported": SCHEMA_VERSION,
            "station_version": __version__, **{k: got.get(k) for k in keys}}


def _db_file(conn: sqlite3.Connection) -> Path | None:
    for _, name, file in conn.execute("PRAGMA database_list"):
        if name == "main":
            return Path(file) if file else None
    return None


def _newer(conn: sqlite3.Connection, version: int) -> NewerRegisterError:
    where = _db_file(conn) or "登记库"
    return NewerRegisterError(
        f"登记库 {where} 由较新版本的 station 写入（登记库版本 {version}，本程序 station {__version__} "
        f"只支持到版本 {SCHEMA_VERSION}）。为免损坏数据，本程序不会打开或降级它。"
        "请改用写入它的那一版或更新版本的 station。")


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the schema in an empty database, upgrade an older register (backup first,
    one transaction), refuse a newer one; nothing to do for a current one."""
    version = register_version(conn)
    if version == SCHEMA_VERSION:
        return
    if version is not None and version > SCHEMA_VERSION:
        raise _newer(conn, version)
    import sqlite_utils          # only to create or upgrade: importing it costs every command 0.1 s
    from .transaction import write_transaction
    db = sqlite_utils.Database(conn)
    upgrading, backup = None, None
    try:
        # Under BEGIN IMMEDIATE (waiting for the busy timeout): two processes opening a fresh
        # home create the schema one after the other; the second finds it there. The same
        # for an upgrade: one process upgrades, the other finds the register current.
        with write_transaction(conn):
            version = register_version(conn)          # again, under the write lock
            if version == SCHEMA_VERSION:
                return
            if version is not None and version > SCHEMA_VERSION:
                raise _newer(conn, version)
            upgrading = version
            if version is not None:
                backup = backup_beside(conn, version)
            _create(db)
            _upgrade_decisions(conn)
            now = time.strftime("%Y-%m-%dT%H:%M:%S")
            facts = {"schema_version": str(SCHEMA_VERSION)}
            if version is None:
                facts["created_by"] = __version__
            else:
                facts.update(upgraded_from_schema=str(version), upgraded_by=__version__, upgraded_at=now,
                             upgrade_backup=backup.name if backup else "")
            conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", list(facts.items()))
    except BaseException as e:
        if upgrading is None or isinstance(e, (RegisterError, KeyboardInterrupt)):
            raise
        kept = f"升级前的备份：{backup}。" if backup else ""
        raise UpgradeError(
            f"登记库从版本 {upgrading} 升级到版本 {SCHEMA_VERSION} 时失败（{e}）。升级已全部撤销，登记库未作任何改动，"
            f"仍可用原来的 station 版本打开。{kept}请把本说明交给系统维护人员；问题解决前请继续使用原来的版本。"
        ) from e


def backup_beside(conn: sqlite3.Connection, version: int) -> Path | None:
    """A consistent, owner-only copy of the register beside it, named with its schema
    version, taken while ``conn`` holds the write lock (a second connection reads the
    committed state). None for an in-memory database. Raises :class:`UpgradeError`."""
    path = _db_file(conn)
    if path is None:
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    final = path.parent / f"station-schema{version}-before-upgrade-{stamp}.db"
    n = 2
    while final.exists():
        final = path.parent / f"station-schema{version}-before-upgrade-{stamp}-{n}.db"
        n += 1
    tmp = final.with_name(f".{final.name}.part")
    old_umask = os.umask(0o077)
    try:
        from .copy import write_copy
        src = sqlite3.connect(path, isolation_level=None)     # reads the committed state
        try:
            write_copy(src, tmp)
        finally:
            src.close()
        os.replace(tmp, final)
    except (sqlite3.Error, OSError) as e:
        for leftover in (tmp, Path(f"{tmp}-journal")):
            try:
                leftover.unlink()
            except OSError:
                pass
        detail = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise UpgradeError(
            f"登记库 {path} 需要从版本 {version} 升级到版本 {SCHEMA_VERSION}，但升级前无法在旁边写入备份"
            f"（{detail}）。为安全起见没有升级，登记库未作任何改动。请检查磁盘空间和文件夹的写权限后重试。") from None
    finally:
        os.umask(old_umask)
    return final


DECISIONS_COLUMNS = """
  [seq] INTEGER PRIMARY KEY,
  [anomaly_id] INTEGER REFERENCES [anomalies]([id]),   -- NULL: an entry about no anomaly
  [action] TEXT NOT NULL,        -- take | confirm | dismiss | rectify | note | amount_changed | upgrade
  [reviewer] TEXT NOT NULL,
  [note] TEXT,
  [amount] REAL,                 -- amount recovered, for rectify
  [at] TEXT NOT NULL,
  [prev_hash] TEXT NOT NULL,
  [hash] TEXT NOT NULL,
  [body] TEXT                    -- entry format 2: the canonical JSON that hash covers; NULL: format 1
"""

DECISIONS_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
       BEGIN SELECT RAISE(ABORT, 'the review log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
       BEGIN SELECT RAISE(ABORT, 'the review log is append-only'); END""",
    # INSERT OR REPLACE deletes the entry it replaces without firing the delete trigger
    # (unless recursive_triggers is on for that connection): every insert must be the
    # next entry, checked before the conflict is resolved, on every connection.
    """CREATE TRIGGER IF NOT EXISTS decisions_append_only BEFORE INSERT ON decisions
       WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM decisions)
       BEGIN SELECT RAISE(ABORT, 'the review log is append-only: a new entry must take the next seq'); END""",
)


def _decisions(conn: sqlite3.Connection) -> None:
    """The review log's table (schema 7), indexes and triggers (see station.review)."""
    conn.execute(f"CREATE TABLE IF NOT EXISTS decisions ({DECISIONS_COLUMNS})")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_decisions_anomaly_id ON decisions (anomaly_id)")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_decisions_at ON decisions (at)")
    for sql in DECISIONS_TRIGGERS:
        conn.execute(sql)


def _upgrade_decisions(conn: sqlite3.Connection) -> None:
    """Schema 7 (from 3 to 6): rebuild ``decisions`` with ``body`` and a nullable ``anomaly_id``,
    every entry copied as it is (its hash covers the columns, format 1)."""
    cols = [r[1] for r in conn.execute("PRAGMA table_info(decisions)")]
    if "body" in cols:
        _decisions(conn)
        return
    before = conn.execute("SELECT count(*), coalesce(max(seq), 0) FROM decisions").fetchone()
    conn.execute(f"CREATE TABLE decisions_v7 ({DECISIONS_COLUMNS})")
    conn.execute("INSERT INTO decisions_v7 (seq, anomaly_id, action, reviewer, note, amount, at, prev_hash, hash)"
                 " SELECT seq, anomaly_id, action, reviewer, note, amount, at, prev_hash, hash"
                 " FROM decisions ORDER BY seq")
    conn.execute("DROP TABLE decisions")          # drops its triggers and indexes; fires none
    conn.execute("ALTER TABLE decisions_v7 RENAME TO decisions")
    _decisions(conn)
    after = conn.execute("SELECT count(*), coalesce(max(seq), 0) FROM decisions").fetchone()
    if after != before:
        raise RuntimeError(f"复核日志复制后条数不符（{before} → {after}）")


def _create(db: "sqlite_utils.Database") -> None:
    db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)

    db["deliveries"].create({
        "id": int,
        "sha256": str,
        "original_name": str,     # the file name as delivered
        "original_path": str,     # where it was found, relative to the inbox
        "stored_path": str,       # where the original now lies, relative to the home
        "size": int,
        "kind": str,
        "department": str,
        "status": str,            # applied | duplicate | rejected | held (待确认) | mapped
                                  # (a held file since applied, see resolved_by) | unpacked (a zip)
        "format": str,
        "encoding": str,
        "header_row": int,
        "rows_total": int,
        "rows_applied": int,
        "rows_rejected": int,
        "rows_skipped": int,      # totals lines and the like
        "reason": str,            # why a file was rejected, or what it duplicates
        "duplicate_of": int,
        "received_at": str,
        "applied_at": str,
        **DELIVERY_COLUMNS_V5,
    }, pk="id", not_null={"sha256", "original_name", "status", "received_at"},
        defaults={"rows_total": 0, "rows_applied": 0, "rows_rejected": 0, "rows_skipped": 0},
        if_not_exists=True)
    for column, type_ in DELIVERY_COLUMNS_V5.items():      # registers made before version 5
        if column not in db["deliveries"].columns_dict:
            db["deliveries"].add_column(column, type_)
    db["deliveries"].create_index(["sha256"], if_not_exists=True)
    db["deliveries"].create_index(["received_at"], if_not_exists=True)

    db["rejected_rows"].create({
        "id": int, "delivery_id": int, "row_no": int, "reason": str, "raw": str,
    }, pk="id", foreign_keys=[("delivery_id", "deliveries", "id")], if_not_exists=True)
    db["rejected_rows"].create_index(["delivery_id", "row_no"], if_not_exists=True)

    for spec in KINDS.values():
        table = db[spec.table_name]
        if not table.exists():
            db.execute(_kind_ddl(spec))
        else:                     # a register of an earlier release: add the new fields
            have = set(table.columns_dict)
            for column, kind in kind_columns(spec).items():
                if column not in have:
                    db.execute(f"ALTER TABLE [{spec.table_name}] ADD COLUMN [{column}] {_SQL_TYPE[kind]}")
        table.create_index(["nk"], unique=True, if_not_exists=True)
        db.execute(f"DROP INDEX IF EXISTS [idx_{spec.table_name}_delivery_id]")
        for cols in KIND_INDEXES.get(spec.name, []):
            table.create_index(list(cols), if_not_exists=True)
    db.execute("DROP INDEX IF EXISTS idx_payments_period")
    # Version 4's narrower money-side indexes (version 6 has them with 险种).
    db.execute("DROP INDEX IF EXISTS idx_contributions_due_unit_no_period")
    db.execute("DROP INDEX IF EXISTS idx_tax_collections_unit_no")
    # The few payments that carry their own bank account (SHARED_ACCOUNT reads them).
    db.execute("CREATE INDEX IF NOT EXISTS payments_account ON payments (account_no)"
               " WHERE account_no IS NOT NULL")
    # The few register IDs without a correct check character (DEATH_FUZZY_MATCH reads them).
    db.execute("CREATE INDEX IF NOT EXISTS persons_unchecked_id ON persons (id_number)"
               " WHERE id_number_valid IS NOT 1")

    # Anomalies: one row per (rule, subject, period), refreshed by every evaluation.
    # ``period`` is '' where the rule has none (so that UNIQUE works; shown as null).
    db["anomalies"].create({
        "id": int,
        "rule": str,
        "subject": str,
        "period": str,
        "department": str,        # the partner department whose data raised it
        "severity": str,
        "name": str,              # the subject's name, for display and search
        "amount": float,
        "evidence": str,          # JSON: the records that caused it, with delivery and row
        "data_status": str,       # open | cleared (cleared by data)
        "review_status": str,     # new | in_review | confirmed | dismissed | rectified
        "recovered": float,       # amount recovered (from the review log)
        "first_seen": str,
        "last_seen": str,
        "cleared_at": str,
        "as_of": str,             # the reference date of the evaluation that last saw it
    }, pk="id", not_null={"rule", "subject", "period", "data_status", "review_status"},
        defaults={"period": "", "data_status": "open", "review_status": "new"},
        if_not_exists=True)
    db["anomalies"].create_index(["rule", "subject", "period"], unique=True, if_not_exists=True)
    db["anomalies"].create_index(["data_status", "review_status"], if_not_exists=True)
    db["anomalies"].create_index(["subject"], if_not_exists=True)
    db["anomalies"].create_index(["first_seen"], if_not_exists=True)
    # The review queue (station.services.anomalies): every column that a queue filters or
    # sorts on, so that filter + sort + LIMIT/OFFSET over 100k anomalies reads this narrow
    # index only, never the rows with their wide evidence.
    db["anomalies"].create_index(
        ["data_status", "rule", "review_status", "department", "severity", "amount",
         "first_seen", "last_seen", "subject", "name", "period"],
        index_name="anomalies_queue", if_not_exists=True)

    # What happened to an anomaly on the data side: found, amount changed, cleared, reopened.
    db["anomaly_events"].create({
        "id": int, "anomaly_id": int, "at": str, "as_of": str, "event": str, "detail": str,
    }, pk="id", foreign_keys=[("anomaly_id", "anomalies", "id")], if_not_exists=True)
    db["anomaly_events"].create_index(["anomaly_id"], if_not_exists=True)

    db["evaluations"].create({
        "id": int, "as_of": str, "started_at": str, "finished_at": str, "rules": str,
        "open_count": int, "new_count": int, "cleared_count": int, "seconds": float,
    }, pk="id", if_not_exists=True)

    # The review log: append-only, hash-chained (see station.review); an older
    # register's table is rebuilt by _upgrade_decisions.
    if not db["decisions"].exists():
        _decisions(db.conn)


_SQL_TYPE = {str: "TEXT", int: "INTEGER", float: "REAL"}


def _kind_ddl(spec: KindSpec) -> str:
    cols = ",\n  ".join(f"[{c}] {_SQL_TYPE[t]}" + (" NOT NULL" if c == "nk" else "")
                        for c, t in kind_columns(spec).items())
    return f"CREATE TABLE [{spec.table_name}] (\n  {cols}\n)"
