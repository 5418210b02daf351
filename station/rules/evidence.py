"""Evidence for findings: the register rows that caused an anomaly, as a reviewer sees them.

A finding's evidence is a JSON object::

    {"summary": "一句话说明",
     "records": [{"kind": "household_deaths", "title": "户籍注销人员", "delivery_id": 3,
                  "file": "户籍注销人员_1.csv", "row_no": 4,
                  "fields": {"公民身份号码": "…", "姓名": "…", …}}, …],
     …rule-specific keys}

Rules collect the ``rowid`` of every row that caused a finding in their set-based query
and hand them to :class:`Evidence`, which loads them in bulk (one query per kind, however
many findings) and renders them with the canonical Chinese headers and the file and row
they came from. Long lists (payments) are cut at :data:`MAX_ROWS` with a count and a
total of the rest, so that an anomaly's evidence stays small.
"""
from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from typing import Any, Iterable, Sequence

from ..kinds.spec import KINDS

MAX_ROWS = 50            # at most this many rows of one kind in one finding's evidence
CHUNK = 50_000           # rowids per bulk query


def money(x: float | None) -> str:
    """An amount as reviewers write it: 36166.2 → '36,166.20'."""
    return "—" if x is None else f"{x:,.2f}"


def rowids(text: str | None) -> list[int]:
    """The rowids of a ``group_concat(rowid)`` column."""
    return [int(x) for x in text.split(",")] if text else []


class Evidence:
    """Loads register rows by rowid and renders them as evidence records."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._files: dict[int, str] | None = None
        self._rows: dict[tuple[str, int], dict] = {}

    @property
    def files(self) -> dict[int, str]:
        if self._files is None:
            self._files = dict(self.conn.execute("SELECT id, original_name FROM deliveries"))
        return self._files

    def load(self, kind: str, ids: Iterable[int]) -> None:
        """Fetch the rows ``ids`` of ``kind`` into the cache (bulk; repeated ids are free)."""
        spec = KINDS[kind]
        wanted = sorted({i for i in ids if (kind, i) not in self._rows})
        cols = ", ".join(f"[{c}]" for c in spec.columns)
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start:start + CHUNK]
            cur = self.conn.execute(
                f"SELECT rowid, delivery_id, row_no, {cols} FROM [{spec.table_name}]"
                f" WHERE rowid IN (SELECT value FROM json_each(?))", (json.dumps(chunk),))
            for row in cur:
                self._rows[(kind, row[0])] = {"delivery_id": row[1], "row_no": row[2],
                                              "values": dict(zip(spec.columns, row[3:]))}

    def values(self, kind: str, rowid: int) -> dict[str, Any]:
        """The row's values by column name (loads it if needed)."""
        if (kind, rowid) not in self._rows:
            self.load(kind, [rowid])
        return self._rows[(kind, rowid)]["values"]

    def record(self, kind: str, rowid: int, title: str | None = None) -> dict:
        """One evidence record: kind, title, delivery, file, row and the fields by header."""
        if (kind, rowid) not in self._rows:
            self.load(kind, [rowid])
        spec = KINDS[kind]
        row = self._rows[(kind, rowid)]
        fields = {}
        for f in spec.fields:
            v = row["values"][f.column]
            fields[f.header] = "" if v is None else v
        return {"kind": kind, "title": title or spec.title, "delivery_id": row["delivery_id"],
                "file": self.files.get(row["delivery_id"], ""), "row_no": row["row_no"],
                "fields": fields}

    def records(self, kind: str, ids: Sequence[int], *, limit: int | None = MAX_ROWS,
                title: str | None = None) -> list[dict]:
        ids = list(ids) if limit is None else list(ids)[:limit]
        return [self.record(kind, i, title) for i in ids]

    def bounded(self, kind: str, ids: Sequence[int], amounts: Sequence[float | None] | None = None,
                *, limit: int = MAX_ROWS) -> tuple[list[dict], dict | None]:
        """The first ``limit`` records, and a note on the rest: how many, and (given the
        rows' ``amounts``, in the order of ``ids``) their total."""
        shown = self.records(kind, ids, limit=limit)
        if len(ids) <= limit:
            return shown, None
        note: dict[str, Any] = {"kind": kind, "title": KINDS[kind].title, "count": len(ids) - limit}
        if amounts is not None:
            note["amount"] = round(sum(a or 0 for a in list(amounts)[limit:]), 2)
        return shown, note


def build(summary: str, records: list[dict], omitted: list[dict] | None = None,
          **extra: Any) -> dict:
    """A finding's evidence object."""
    ev: dict[str, Any] = {"summary": summary, "records": records}
    if omitted:
        ev["omitted"] = [o for o in omitted if o]
        if not ev["omitted"]:
            del ev["omitted"]
    ev.update(extra)
    return ev


def group_rows(rows: Iterable[Sequence], key_len: int = 1) -> dict[tuple, list[Sequence]]:
    """Group query rows by their first ``key_len`` columns, keeping order."""
    out: dict[tuple, list[Sequence]] = defaultdict(list)
    for r in rows:
        out[tuple(r[:key_len])].append(r)
    return out
