"""Normaliser defects seen through a whole delivery: a mistyped credit code rejects its row
(with a reason) instead of raising a false 新设企业未参保登记; a cell with a line break is
refused like any bad cell, not passed through or turned into a failure of the whole file;
absurd amounts never reach an anomaly."""
from __future__ import annotations

import itertools

from test_rules_support import AS_OF, FILE_NAMES, HEADERS, anomalies, deliver, make_id, payment, person

_n = itertools.count(1)


def write_and_ingest(station, kind: str, rows: list[list[str]]):
    """One CSV delivery; cells may hold line breaks (quoted)."""
    import csv
    import io
    folder, header = HEADERS[kind]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header.split(","))
    w.writerows(rows)
    path = station.home.inbox / folder / f"{FILE_NAMES[kind]}_n{next(_n)}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8")
    [r] = station.ingest([path], as_of=AS_OF, evaluate=True).results
    return r


def rejected(station) -> list[tuple[int, str]]:
    return station.conn.execute("SELECT row_no, reason FROM rejected_rows ORDER BY row_no").fetchall()


def test_a_mistyped_credit_code_rejects_its_row_and_raises_no_false_anomaly(station):
    good, mistyped = "91110000600037341L", "91110000600037314L"      # two characters swapped
    deliver(station, "units", ["U1,91440300568520498A,丙公司,2020-01-01,正常"])
    r = write_and_ingest(station, "enterprises", [
        [good, "甲公司", "张三", "设立", "2026-09-01", "某地"],
        [mistyped, "乙公司", "李四", "设立", "2026-09-01", "某地"],
    ])
    assert r.status == "applied" and r.rows_applied == 1 and r.rows_rejected == 1
    [(row_no, reason)] = rejected(station)
    assert row_no == 3 and "统一社会信用代码" in reason and "校验" in reason
    assert set(anomalies(station, "ENTERPRISE_UNREGISTERED")) == {(good, None)}


def test_credit_codes_written_with_spaces_dashes_or_lower_case_match_the_unit(station):
    code = "91110000600037341L"
    deliver(station, "units", [f"U1,{code[:2]} {code[2:8]}-{code[8:].lower()},甲公司,2020-01-01,正常"])
    deliver(station, "enterprises", [f"{code},甲公司,张三,设立,2026-09-01,某地"])
    assert anomalies(station, "ENTERPRISE_UNREGISTERED") == {}


def test_a_line_break_inside_a_cell_rejects_that_row_only(station):
    pid = make_id("19500101", 1)
    deliver(station, "persons", [person(pid, "甲")])
    r = write_and_ingest(station, "payments", [
        ["P1", pid, "甲", "2026-10", "基本养老金", "12\n34", "2026-10-10"],
        ["P2", pid, "甲", "2026-09", "基本养老金", "100", "2026-09-10\n2026-09-11"],
        ["P3", pid, "甲", "2026-08", "基本养老金", "100", "2026-08-10"],
    ])
    assert r.status == "applied" and r.rows_applied == 1 and r.rows_rejected == 2
    first, second = (why for _, why in rejected(station))
    assert "金额" in first and "日期" in second


def test_absurd_amounts_are_rejected_where_they_enter(station):
    pid = make_id("19500101", 2)
    deliver(station, "persons", [person(pid, "乙")])
    deliver(station, "household_deaths", [f"{pid},乙,男,2026-01-05,2026-01-10,死亡"])
    r = write_and_ingest(station, "payments", [
        ["P1", pid, "乙", "2026-05", "基本养老金", "1.7976931348623157e308", "2026-05-10"],
        ["P2", pid, "乙", "2026-06", "基本养老金", "1.7976931348623157e308", "2026-06-10"],
        ["P3", pid, "乙", "2026-07", "基本养老金", "3000", "2026-07-10"],
    ])
    assert r.rows_applied == 1 and r.rows_rejected == 2
    assert all("超出合理范围" in why for _, why in rejected(station))
    [found] = anomalies(station, "DEATH_PAID").values()
    assert found["amount"] == 3000.0


def test_payment_rows_of_plain_amounts_still_apply(station):
    pid = make_id("19500101", 3)
    deliver(station, "persons", [person(pid, "丙")])
    deliver(station, "payments", [payment(f"S{i}", pid, "丙", f"2026-{i:02d}", 1234.5) for i in range(1, 10)])
    assert station.conn.execute("SELECT count(*), sum(amount) FROM payments").fetchone() == (9, 9 * 1234.5)
