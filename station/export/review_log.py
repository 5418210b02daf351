"""The review log export (核查台账): one row per decision in a date range, CSV or XLSX.

Citizen ID numbers are masked (``420105********1234``) unless ``unmask`` is asked for:
in the subject column, and wherever one appears inside a reviewer's note or the name;
there, the subject's birth date is shown as its year only, however it is written
(station.normalise.privacy), so that it cannot fill in the masked digits. Credit codes
and archive numbers (subjects of enterprise and archive rules) are not personal data and
are shown as they are. The review log's head is the last row, so that the file can be
checked against ``station verify`` later. Rows show what each entry recorded at the time
(:func:`review_log_rows`), so ``verify`` vouches for every cell.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from ..review.entry import NOT_RECORDED
from ..review.log import chain_head, read_entries, recorded, seal_content
from ..review.states import ACTION_TITLES
from ..review.stats import department_title, rule_title
from ..register.db import now_iso
from .files import (ExportError, ExportResult, Money, SheetWriter, atomic_write, csv_bytes,
                    head_line, new_workbook, save_workbook, snapshot)
from .layout import TitleBlock, a4_setup, grid, set_widths, write_signature_block, write_title_block

FORMATS = ("csv", "xlsx")
HEADER = ("序号", "时间", "复核人", "疑点编号", "规则", "部门", "对象", "期间", "姓名", "决定", "说明",
          "涉及金额", "追回金额")
TEXT_COLUMNS = (2, 3, 5, 6, 7, 8, 9, 10, 11)      # 1-based: never numbers in XLSX
# Printed widths (characters, a Chinese character is two) and the columns that wrap: on A4
# landscape fitted to the page width the table prints at about 75%, still readable.
PRINT_WIDTHS = (6, 17, 9, 8, 18, 8, 20, 8, 10, 9, 36, 12, 12)
WRAP_COLUMNS = (5, 9, 11, 12)
TITLE = "核查台账"
SUBJECT_COLUMN = 7

# Rules whose subject is not a person's ID number (credit code, 档号#件号).
NON_PERSON_SUBJECTS = frozenset({"ENTERPRISE_UNREGISTERED", "ENTERPRISE_CLOSED_ACTIVE",
                                 "ARCHIVE_RETENTION"})

def _mask(value: str) -> str:
    from ..normalise import mask_id
    return mask_id(value)


def mask_subject(rule: str, subject: str | None) -> str:
    from ..rules.base import is_account_subject, is_person_subject
    if subject and is_account_subject(rule):
        from ..normalise import mask_account
        return mask_account(subject)
    if not subject or rule in NON_PERSON_SUBJECTS or not is_person_subject(rule):
        return subject or ""
    return _mask(subject)


def mask_text(text: str | None, ids=()) -> str | None:
    """A note or a name as the export shows it: ID numbers masked, and the birth digits of
    ``ids`` (the export's subjects and the IDs its notes name) and of any ID in it hidden
    (1935-01-27 → 1935-**-**)."""
    if not text:
        return text
    from ..normalise.privacy import mask_personal
    return mask_personal(text, ids)


NAME_COLUMN, NOTE_COLUMN = 8, 10         # 0-based, in a row of review_log_rows (HEADER)


def _day(value: str | dt.date | None) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _recorded_money(a: dict | None, legacy: bool):
    if legacy:
        return NOT_RECORDED if a is not None else ""
    amount = (a or {}).get("amount")
    return None if amount is None else Money(float(amount))


def review_log_rows(conn: sqlite3.Connection, date_from: str | dt.date | None = None,
                    date_to: str | dt.date | None = None, *, unmask: bool = False) -> list[list]:
    """The export's rows (without header and footer), oldest first; dates inclusive.

    Every cell comes from the entries' hashed content (station.review.entry), never from
    today's anomaly rows: what an entry decided on (rule, department, subject, period,
    name, amount involved) as it was at that moment. Entries written by an older release
    did not record name, department or amount: those cells say 「（旧版记录，未保存）」;
    their rule, subject and period come from the seal written at the upgrade."""
    where, args = [], []
    if date_from:
        where.append("at >= ?")
        args.append(_day(date_from))
    if date_to:
        end = dt.date.fromisoformat(_day(date_to)) + dt.timedelta(days=1)
        where.append("at < ?")
        args.append(end.isoformat())
    seal = seal_content(conn)
    rows, subjects = [], []
    for entry in read_entries(conn, " WHERE " + " AND ".join(where) if where else "", args):
        c = recorded(entry, seal)
        a, legacy = c["anomaly"], c["legacy"]
        missing = NOT_RECORDED if legacy and a is not None else ""
        rule = (a or {}).get("rule") or ""
        subject = (a or {}).get("subject") or ""
        if legacy and a is None:          # not sealed: nothing hashed names the anomaly
            rule_cell = subject_cell = NOT_RECORDED
        else:
            rule_cell = rule_title(rule) if rule else ""
            subject_cell = subject if unmask else mask_subject(rule, subject)
        department = (a or {}).get("department")
        note, name = entry["note"], (a or {}).get("name")
        rows.append([
            entry["seq"], (entry["at"] or "").replace("T", " "), entry["reviewer"],
            "" if entry["anomaly_id"] is None else entry["anomaly_id"], rule_cell,
            department_title(department) if department else missing, subject_cell,
            (a or {}).get("period") or "", missing or name or "",
            ACTION_TITLES.get(entry["action"], entry["action"]), note,
            _recorded_money(a, legacy),
            None if entry["amount"] is None else Money(entry["amount"]),
        ])
        subjects.append(subject)
    if not unmask:        # rows are read side by side: every ID of the export is context
        from ..normalise.privacy import ids_in
        context = ids_in(subjects, [r[NAME_COLUMN] for r in rows], [r[NOTE_COLUMN] for r in rows])
        for r in rows:
            r[NAME_COLUMN] = mask_text(r[NAME_COLUMN], context)
            r[NOTE_COLUMN] = mask_text(r[NOTE_COLUMN], context)
    return rows


def default_range(conn: sqlite3.Connection, date_from: str | None, date_to: str | None) -> tuple[str, str]:
    """Fill a missing start with the first decision's day (today when none), a missing end
    with today."""
    today = dt.date.today().isoformat()
    if not date_from:
        first = conn.execute("SELECT min(at) FROM decisions").fetchone()[0]
        date_from = first[:10] if first else today
    return date_from, date_to or today


def default_path(exports: Path, date_from: str, date_to: str, fmt: str) -> Path:
    return Path(exports) / f"核查台账_{date_from}_{date_to}.{fmt}"


def export_review_log(conn: sqlite3.Connection, out: Path, *, fmt: str,
                      date_from: str | dt.date | None = None, date_to: str | dt.date | None = None,
                      unmask: bool = False, office: str | None = None) -> ExportResult:
    """Write the review log of ``date_from``..``date_to``. XLSX is laid out for printing
    (:mod:`.layout`): title block with ``office`` (填报单位), signature block, A4."""
    if fmt not in FORMATS:
        raise ExportError(f"不支持的格式「{fmt}」，请用 csv 或 xlsx。")
    date_from, date_to = _day(date_from), _day(date_to)
    if date_from and date_to and date_from > date_to:
        raise ExportError(f"起始日期 {date_from} 晚于截止日期 {date_to}，请检查 --from 和 --to。")
    with snapshot(conn):
        rows = review_log_rows(conn, date_from, date_to, unmask=unmask)
        entries, head = chain_head(conn)
    footer = head_line(entries, head)
    if fmt == "csv":
        data = csv_bytes(HEADER, rows, [footer])
        atomic_write(out, lambda f: f.write(data))
    else:
        wb = new_workbook()
        ws = wb.active
        ws.title = TITLE
        sw = SheetWriter(ws, TEXT_COLUMNS)
        period = f"{date_from or '最早'} 至 {date_to or '今天'}"
        write_title_block(sw, TitleBlock(TITLE, period, office, now_iso().replace("T", " ")[:19]),
                          len(HEADER))
        sw.append(HEADER, bold=True)
        header_row = sw.row
        for row in rows:
            sw.append(row)
        grid(ws, header_row, sw.row, len(HEADER))
        write_signature_block(sw, len(HEADER))
        sw.append([footer], track=False)
        set_widths(ws, PRINT_WIDTHS, WRAP_COLUMNS, first_row=header_row + 1)
        ws.freeze_panes = ws.cell(row=header_row + 1, column=1).coordinate
        if rows:
            ws.auto_filter.ref = (f"A{header_row}:"
                                  f"{ws.cell(row=header_row + len(rows), column=len(HEADER)).coordinate}")
        a4_setup(ws, landscape=True, header_row=header_row, check_value=f"{entries}/{head[:16]}")
        atomic_write(out, lambda f: save_workbook(wb, f))
    return ExportResult(Path(out), len(rows), entries, head)
