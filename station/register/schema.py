"""The register's schema: one table per delivery kind, the delivery ledger, anomalies and
the review log. Managed with sqlite-utils; created idempotently on every connect.

Kind tables mirror :mod:`station.kinds.spec`: one column per field (an ``id`` field also
gets ``<column>_valid``), plus

- ``nk``          the natural key (see :func:`station.kinds.mapping.natural_key`), unique:
                  re-delivering a record updates it in place (upsert);
- ``delivery_id`` the ledger entry of the delivery that last wrote the record;
- ``row_no``      its row number in that delivery — evidence for reviewers.
"""
from __future__ import annotations

import sqlite3

from ..kinds.spec import KINDS, KindSpec, kind_columns

SCHEMA_VERSION = 6     # 2: anomalies_queue index (idempotent upgrade of version-1 registers)
                       # 3: no index nothing reads (kind tables' delivery_id, payments' period):
                       #    every row of every delivery paid for them; persons_unchecked_id
                       # 4: the money side: contributions_due, tax_collections,
                       #    fund_account_entries, bank_returns; payments.account_no
                       # 5: deliveries.container_id / member (zip members), resolved_by (held files)
                       # 6: assessments and collections indexed by (unit, period, 险种)

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
    "tax_collections": [("unit_no", "period", "insurance"), ("credit_code",)],
    "bank_returns": [("account_no",)],
}


# Ledger columns added in version 5 (station.inbox.members, station.inbox.held).
DELIVERY_COLUMNS_V5 = {
    "container_id": int,      # a zip member: the ledger entry of its zip
    "member": str,            # a zip member: its path inside the zip
    "resolved_by": int,       # a held file: the ledger entry that applied it once confirmed
}


def ensure_schema(conn: sqlite3.Connection) -> None:
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone() and \
            conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (str(SCHEMA_VERSION),):
        return
    import sqlite_utils          # only to create or upgrade: importing it costs every command 0.1 s
    from .transaction import write_transaction
    db = sqlite_utils.Database(conn)
    # Under BEGIN IMMEDIATE (waiting for the busy timeout): two processes opening a fresh
    # home create the schema one after the other; the second finds it there.
    with write_transaction(conn):
        _create(db)
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                     (str(SCHEMA_VERSION),))


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

    # The review log: append-only, hash-chained (see station.review).
    db["decisions"].create({
        "seq": int,
        "anomaly_id": int,
        "action": str,            # take | confirm | dismiss | rectify | note
        "reviewer": str,
        "note": str,
        "amount": float,          # amount recovered, for rectify
        "at": str,
        "prev_hash": str,
        "hash": str,
    }, pk="seq", not_null={"anomaly_id", "action", "reviewer", "at", "prev_hash", "hash"},
        foreign_keys=[("anomaly_id", "anomalies", "id")], if_not_exists=True)
    db["decisions"].create_index(["anomaly_id"], if_not_exists=True)
    db["decisions"].create_index(["at"], if_not_exists=True)
    db.execute("""CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
                  BEGIN SELECT RAISE(ABORT, 'the review log is append-only'); END""")
    db.execute("""CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
                  BEGIN SELECT RAISE(ABORT, 'the review log is append-only'); END""")


_SQL_TYPE = {str: "TEXT", int: "INTEGER", float: "REAL"}


def _kind_ddl(spec: KindSpec) -> str:
    cols = ",\n  ".join(f"[{c}] {_SQL_TYPE[t]}" + (" NOT NULL" if c == "nk" else "")
                        for c, t in kind_columns(spec).items())
    return f"CREATE TABLE [{spec.table_name}] (\n  {cols}\n)"
