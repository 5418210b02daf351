"""Evaluating the rules for a few IDs only: what a small delivery can change.

A 500-row death list can change the findings of DEATH_PAID, DEATH_NOT_STOPPED and
DEATH_DATE_CONFLICT only for the 500 IDs it names — each of their findings is about one ID
and reads only that ID's rows. Re-running them over a county's 25,000 death records and
3.5 million payments takes seconds; over the delivery's IDs, milliseconds.

Rules declare this with ``Rule(per_id=True)``: every finding's subject is an ID number,
and depends only on the rows with that ID in the ``id_number`` column of the kind tables
the rule reads (tables without that column, such as the ledger or the archive index, are
read whole). :func:`id_scope` then runs them unchanged against TEMP copies of those
tables restricted to the IDs (SQLite resolves an unqualified table name to the TEMP table
of that name first; the copies keep their rowids, so evidence names the real rows), and
the engine clears only anomalies of those IDs that are no longer found.

A rule whose findings are about other IDs than the records that cause them (a death
record with a mistyped ID is about the register person one digit away) can instead give
its own ``scope`` function: given the changed kinds and IDs it returns the subjects whose
findings can have changed and, for some tables, the rows those findings depend on (or
None: evaluate everything). :func:`row_scope` runs the rule against TEMP copies of just
those rows.

The copies exist only inside the ``with`` block and only on this connection.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable, Iterator

from ..kinds.spec import KINDS
from ..register.schema import KIND_INDEXES, _kind_ddl, kind_columns

ID_TABLES = [spec for spec in KINDS.values() if "id_number" in spec.columns]


@dataclass
class Scope:
    """What a rule's own ``scope`` function returns."""
    subjects: list[str]                  # the only subjects whose findings can have changed
    rows: dict[str, list[int]]           # kind -> rowids: the rule sees only these rows


def _temp_copy(conn: sqlite3.Connection, spec, made: list[str], source: str, params: tuple = ()) -> None:
    """A TEMP table shadowing ``spec``'s table, filled from ``source`` (a FROM clause
    naming the main table as ``t``, with its conditions), with the kind's indexes."""
    table = spec.table_name
    cols = ", ".join(f"[{c}]" for c in kind_columns(spec))
    conn.execute(_kind_ddl(spec).replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
    made.append(table)
    picked = ", ".join(f"t.[{c}]" for c in kind_columns(spec))
    conn.execute(f"INSERT INTO temp.[{table}] (rowid, {cols}) SELECT t.rowid, {picked} {source}", params)
    for n, index in enumerate(KIND_INDEXES.get(spec.name, [])):
        conn.execute(f"CREATE INDEX temp.[station_scope_{table}_{n}] ON [{table}]"
                     f" ({', '.join(f'[{c}]' for c in index)})")


@contextmanager
def row_scope(conn: sqlite3.Connection, rows: dict[str, list[int]]) -> Iterator[None]:
    """Within the block, the tables of the kinds in ``rows`` hold only those rowids."""
    made: list[str] = []
    try:
        for kind, rowids in rows.items():
            spec = KINDS[kind]
            _temp_copy(conn, spec, made, f"FROM json_each(?) AS j CROSS JOIN main.[{spec.table_name}] AS t"
                       " ON t.rowid = j.value", (json.dumps(sorted(set(rowids))),))
        yield
    finally:
        for table in reversed(made):
            conn.execute(f"DROP TABLE IF EXISTS temp.[{table}]")


@contextmanager
def id_scope(conn: sqlite3.Connection, ids: Iterable[str], kinds: Iterable[str] | None = None) -> Iterator[None]:
    """Within the block, every kind table with an ``id_number`` column (of ``kinds``, the
    kinds the rules read; default all) holds only the rows of ``ids`` (for this connection)."""
    made: list[str] = []
    wanted = set(kinds) if kinds is not None else None
    try:
        conn.execute("CREATE TEMP TABLE station_scope_ids (id TEXT PRIMARY KEY) WITHOUT ROWID")
        made.append("station_scope_ids")
        conn.executemany("INSERT OR IGNORE INTO temp.station_scope_ids VALUES (?)", ((i,) for i in ids))
        for spec in ID_TABLES:
            if wanted is None or spec.name in wanted:
                _temp_copy(conn, spec, made, f"FROM main.[{spec.table_name}] AS t"
                           " WHERE t.id_number IN (SELECT id FROM temp.station_scope_ids)")
        yield
    finally:
        for table in reversed(made):
            conn.execute(f"DROP TABLE IF EXISTS temp.[{table}]")
