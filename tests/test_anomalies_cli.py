"""``station evaluate`` / ``station anomalies`` and the anomalies service behind them."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest

from conftest import SAMPLES_AS_OF, expected_anomalies
from station.cli import main
from station.services.anomalies import (AnomalyFilter, FilterError, anomaly_summary,
                                        count_anomalies, get_anomaly, list_anomalies)

ID18 = re.compile(r"(?<![0-9A-Z])\d{17}[0-9X](?![0-9A-Z])")
TOTAL = sum(len(v) for v in expected_anomalies()["anomalies"].values())
AMOUNTS = sorted((a for v in expected_anomalies()["anomalies"].values() for _, _, a in v if a is not None),
                 reverse=True)


def run(station, capsys, *args) -> tuple[int, str, str]:
    code = main(["--home", str(station.home.root), *args])
    out, err = capsys.readouterr()
    return code, out, err


def as_json(station, capsys, *args) -> list[dict]:
    """The JSON a script reads: unmasked (the default JSON is masked: tests/test_leaks.py)."""
    code, out, _ = run(station, capsys, "anomalies", "--format", "json", "--unmask", *args)
    assert code == 0
    return json.loads(out)


def test_json_has_the_fields(loaded_station, capsys):
    rows = as_json(loaded_station, capsys)
    assert len(rows) == TOTAL
    for r in rows:
        for key in ("id", "rule", "title", "severity", "department", "subject", "name", "period",
                    "amount", "status", "data_status", "first_seen", "last_seen", "evidence"):
            assert key in r, key
        assert isinstance(r["evidence"], dict) and r["evidence"]["summary"]
        assert r["status"] == "new" and r["data_status"] == "open"
        assert r["period"] is None or re.fullmatch(r"\d{4}-\d{2}", r["period"])
        assert r["amount"] is None or isinstance(r["amount"], float)
    paid = {r["subject"]: r for r in rows if r["rule"] == "DEATH_PAID"}
    assert paid["440303193501279793"]["amount"] == 36166.2
    assert paid["440303193501279793"]["title"] == "死亡后继续领取待遇"
    assert paid["440303193501279793"]["department"] == "public_security"


def test_filters(loaded_station, capsys):
    rows = as_json(loaded_station, capsys, "--rule", "DEATH_PAID")
    assert {r["rule"] for r in rows} == {"DEATH_PAID"} and len(rows) == 2
    rows = as_json(loaded_station, capsys, "--rule", "重复发放,发放对象不在册")
    assert {r["rule"] for r in rows} == {"DUPLICATE_PAYMENT", "PAYMENT_UNREGISTERED"}
    rows = as_json(loaded_station, capsys, "--department", "archive")
    assert {r["rule"] for r in rows} == {"RETIREE_NO_APPROVAL", "ARCHIVE_RETENTION"}
    rows = as_json(loaded_station, capsys, "--department", "残联")
    assert {r["rule"] for r in rows} == {"SUBSIDY_NOT_STOPPED", "SUBSIDY_MISSING"}
    assert len(as_json(loaded_station, capsys, "--status", "待核查")) == TOTAL
    assert as_json(loaded_station, capsys, "--status", "confirmed") == []


def test_unknown_filter_value_is_a_user_error(loaded_station, capsys):
    code, out, err = run(loaded_station, capsys, "anomalies", "--status", "done")
    assert code == 2 and "未知的核查状态" in err


def test_all_shows_the_cleared_ones(loaded_station, capsys):
    # the agency registers the new enterprise: its anomaly is cleared by data
    units = loaded_station.home.inbox / "agency" / "补报参保单位.csv"
    units.write_text("单位编号,统一社会信用代码,单位名称,登记日期,单位状态\n"
                     "U0000099,9113202750H8BCT6FE,易动力科技有限公司,2026-11-01,正常\n", encoding="utf-8")
    loaded_station.ingest([units], as_of=SAMPLES_AS_OF)
    open_rows = as_json(loaded_station, capsys)
    all_rows = as_json(loaded_station, capsys, "--all")
    assert len(open_rows) == TOTAL - 1 and len(all_rows) == TOTAL
    [cleared] = [r for r in all_rows if r["data_status"] == "cleared"]
    assert (cleared["rule"], cleared["subject"]) == ("ENTERPRISE_UNREGISTERED", "9113202750H8BCT6FE")
    code, out, _ = run(loaded_station, capsys, "anomalies", "--all", "--rule", "ENTERPRISE_UNREGISTERED")
    assert "数据已消除" in out


def test_table_masks_ids_unless_asked(loaded_station, capsys):
    code, out, _ = run(loaded_station, capsys, "anomalies")
    assert code == 0
    assert "死亡后继续领取待遇" in out and "邹淑英" in out
    assert not ID18.search(out)
    assert "440303********9793" in out
    code, out, _ = run(loaded_station, capsys, "anomalies", "--unmask")
    assert "440303193501279793" in out


def test_csv_has_a_bom_and_masks_ids(loaded_station, capsys, tmp_path):
    target = tmp_path / "疑点.csv"
    code, _, _ = run(loaded_station, capsys, "anomalies", "--format", "csv", "-o", str(target))
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert not ID18.search(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == TOTAL and rows[0]["规则"] and rows[0]["说明"]


def test_evaluate_command(loaded_station, capsys):
    code, out, _ = run(loaded_station, capsys, "evaluate", "--as-of", "2026-11-15")
    assert code == 0 and "DEATH_PAID" in out and f"当前未消除 {TOTAL}" in out


# ------------------------------------------------------------------------- service

def test_list_sort_and_page(loaded_station):
    conn = loaded_station.conn
    f = AnomalyFilter()
    assert count_anomalies(conn, f) == TOTAL
    by_amount = list_anomalies(conn, f, sort="amount", descending=True, limit=3)
    assert [r["amount"] for r in by_amount] == AMOUNTS[:3]
    pages = [list_anomalies(conn, f, sort="severity", descending=True, limit=10, offset=o)
             for o in range(0, TOTAL, 10)]
    ids = [r["id"] for p in pages for r in p]
    assert len(ids) == len(set(ids)) == TOTAL
    sev = [r["severity"] for p in pages for r in p]
    order = {"high": 0, "medium": 1, "low": 2}
    assert sev == sorted(sev, key=order.get)
    with pytest.raises(FilterError):
        list_anomalies(conn, f, sort="evidence; DROP TABLE anomalies")


def test_filter_fields(loaded_station):
    conn = loaded_station.conn
    assert {r["subject"] for r in list_anomalies(conn, AnomalyFilter(search="邹淑英"))} == {"440303193501279793"}
    assert len(list_anomalies(conn, AnomalyFilter(search="193501279793"))) == 2
    assert {r["rule"] for r in list_anomalies(conn, AnomalyFilter(min_amount=8500))} == {
        rule for rule, found in expected_anomalies()["anomalies"].items()
        if any(a is not None and a >= 8500 for _, _, a in found)}
    assert count_anomalies(conn, AnomalyFilter(severities=["高"])) == count_anomalies(
        conn, AnomalyFilter(severities=["high"])) > 0
    assert count_anomalies(conn, AnomalyFilter(older_than_days=1)) == 0
    assert count_anomalies(conn, AnomalyFilter(older_than_days=0)) in (0, TOTAL)
    some = list_anomalies(conn, AnomalyFilter(), limit=2)
    assert [r["id"] for r in list_anomalies(conn, AnomalyFilter(ids=[r["id"] for r in some]))] == \
        [r["id"] for r in some]
    assert count_anomalies(conn, AnomalyFilter(data_status="cleared")) == 0
    assert count_anomalies(conn, AnomalyFilter(data_status=None)) == TOTAL


def test_get_anomaly_and_summary(loaded_station):
    conn = loaded_station.conn
    [row] = list_anomalies(conn, AnomalyFilter(rules=["DUPLICATE_PAYMENT"]))
    full = get_anomaly(conn, row["id"])
    assert full["period"] == "2026-04" and full["amount"] == 5351.08
    assert full["explanation"] and full["title"] == "重复发放"
    assert [e["event"] for e in full["events"]] == ["found"]
    assert full["decisions"] == []
    assert get_anomaly(conn, 10 ** 9) is None
    summary = {s["rule"]: s for s in anomaly_summary(conn)}
    assert len(summary) == len(expected_anomalies()["anomalies"]) == 21
    assert summary["DEATH_PAID"]["open"] == 2 and summary["DEATH_PAID"]["amount"] == 45108.5
    assert summary["DEATH_PAID"]["by_status"]["new"] == 2


def test_a_version_1_register_gains_the_queue_index(tmp_path):
    from station.register.db import connect
    path = tmp_path / "old.db"
    conn = connect(path)
    conn.execute("DROP INDEX anomalies_queue")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.close()
    conn = connect(path)
    assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'anomalies_queue'").fetchone()
    assert count_anomalies(conn, AnomalyFilter()) == 0
    conn.close()
