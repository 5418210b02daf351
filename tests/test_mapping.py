"""Held files (待确认) and confirming their mapping: ``station pending``, ``station map``,
the mapping service, aliases saved to rules.yaml."""
from __future__ import annotations

import re

import pytest

from station.cli import main
from station.config import load_config
from station.inbox.pipeline import inbox_files
from station.services import mapping
from station.services.aliases import insert_aliases

ID_A = "110101195601011235"          # born 1956-01-01
ID_B = "110101196001011239"
DEATHS = ("公民身份号码,姓名,办理时间,注销原因\n"
          f"{ID_A},张三,2026-03-15,死亡\n{ID_B},李四,2026-04-01,迁出\n")


def run(station, capsys, *args) -> tuple[int, str, str]:
    code = main(["--home", str(station.home.root), *args])
    out, err = capsys.readouterr()
    return code, out, err


def deliver(station, rel: str, text: str) -> bytes:
    path = station.home.inbox / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    path.write_bytes(data)
    return data


def ledger(station):
    return station.conn.execute("SELECT id, status, kind, resolved_by FROM deliveries ORDER BY id").fetchall()


def test_an_unknown_header_waits_and_is_listed(station, capsys):
    data = deliver(station, "public_security/死亡名单.csv", DEATHS)
    code, out, _ = run(station, capsys, "ingest")
    assert code == 0 and "[待确认] 死亡名单.csv" in out and "待确认 1" in out
    [(did, status, kind, _)] = ledger(station)
    assert status == "held"
    kept = station.home.held / "public_security" / "死亡名单.csv"
    assert kept.read_bytes() == data            # kept byte for byte
    assert inbox_files(station.home) == []      # never taken again by ingest or watch
    code, out, _ = run(station, capsys, "pending")
    assert code == 0 and f"#{did}" in out and "死亡名单.csv" in out and "办理时间" in out
    assert station.conn.execute("SELECT count(*) FROM household_deaths").fetchone()[0] == 0


def test_map_overrides_a_column_saves_the_alias_and_the_next_file_goes_through(station, capsys):
    deliver(station, "public_security/死亡名单.csv", DEATHS)
    run(station, capsys, "ingest")
    code, out, err = run(station, capsys, "map", "死亡名单.csv", "--dry-run")
    assert code == 2 and "缺少必填字段：注销日期" in err
    assert ID_A not in out and "110101********1235" in out          # masked

    code, out, err = run(station, capsys, "map", "死亡名单.csv", "--column", "办理时间=注销日期",
                         "--save-aliases")
    assert code == 0, err
    assert "[已导入] 死亡名单.csv  户籍注销人员  导入 2 行" in out
    assert "已把「办理时间」作为「注销日期」的别名写入 rules.yaml" in out
    assert ID_A not in out
    rows = station.conn.execute("SELECT id_number, cancel_date, cancel_reason FROM household_deaths"
                                " ORDER BY id_number").fetchall()
    assert rows == [(ID_A, "2026-03-15", "死亡"), (ID_B, "2026-04-01", "迁出")]
    [(held_id, s1, _, resolved), (applied_id, s2, kind, _)] = ledger(station)
    assert (s1, s2, kind, resolved) == ("mapped", "applied", "household_deaths", applied_id)
    assert list(station.home.held.rglob("*.csv")) == []
    assert len(list(station.home.processed.rglob("死亡名单.csv"))) == 1

    text = station.home.rules_path.read_text(encoding="utf-8")
    assert re.search(r"# \d{4}-\d{2}-\d{2} 确认「public_security/死亡名单\.csv」（第 1 号报送）时添加：办理时间\n"
                     r"  注销日期: \[户籍注销日期, 销户日期, 办理时间\]\n", text)
    assert "# Header aliases" in text            # the file's own comments are kept
    assert run(station, capsys, "check-config")[0] == 0

    deliver(station, "public_security/死亡名单2.csv",
            DEATHS.replace("张三", "张叁").replace("2026-03-15", "2026-03-16"))
    code, out, _ = run(station, capsys, "ingest")
    assert code == 0 and "[已导入] 死亡名单2.csv  户籍注销人员  导入 2 行" in out
    assert run(station, capsys, "pending")[1].startswith("没有待确认的文件")


def test_map_chooses_the_kind(station, capsys):
    deliver(station, "civil_affairs/火化.csv",
            f"身份证,名字,离世日期,殡仪单位\n{ID_A},张三,2026-03-10,县殡仪馆\n")
    run(station, capsys, "ingest")
    code, out, err = run(station, capsys, "map", "火化.csv", "--kind", "殡葬火化记录",
                         "--column", "身份证=公民身份号码", "--column", "名字=姓名",
                         "--column", "离世日期=死亡日期", "--column", "殡仪单位=殡仪馆")
    assert code == 0, err
    assert "殡葬火化记录  导入 1 行" in out
    assert station.conn.execute("SELECT id_number, death_date, funeral_home FROM cremations").fetchall() \
        == [(ID_A, "2026-03-10", "县殡仪馆")]
    assert not station.home.rules_path.exists()          # no --save-aliases: rules.yaml untouched


def test_map_applies_once(station, capsys):
    deliver(station, "public_security/死亡名单.csv", DEATHS)
    run(station, capsys, "ingest")
    assert run(station, capsys, "map", "#1", "--column", "办理时间=注销日期")[0] == 0
    code, _, err = run(station, capsys, "map", "#1", "--column", "办理时间=注销日期")
    assert code == 2 and "没有待确认的文件" in err
    assert station.conn.execute("SELECT count(*) FROM household_deaths").fetchone()[0] == 2


def test_the_same_bytes_applied_meanwhile_are_not_applied_twice(station, capsys):
    deliver(station, "public_security/死亡名单.csv", DEATHS)
    run(station, capsys, "ingest")
    p = mapping.find_pending(station, "死亡名单.csv")
    first = mapping.confirm(station, p, columns={"办理时间": "注销日期"}, evaluate=False)
    assert first.result.status == "applied"
    with pytest.raises(mapping.MappingError):
        mapping.confirm(station, p, columns={"办理时间": "注销日期"}, evaluate=False)


def test_a_second_copy_of_a_waiting_file_is_a_duplicate(station, capsys):
    deliver(station, "public_security/死亡名单.csv", DEATHS)
    run(station, capsys, "ingest")
    deliver(station, "public_security/又一份.csv", DEATHS)
    code, out, _ = run(station, capsys, "ingest")
    assert "[重复] 又一份.csv" in out and "待确认" in out
    assert len(mapping.pending(station)) == 1


def test_bad_choices_are_explained(station, capsys):
    deliver(station, "public_security/死亡名单.csv", DEATHS)
    run(station, capsys, "ingest")
    code, _, err = run(station, capsys, "map", "死亡名单.csv", "--kind", "nonsense")
    assert code == 2 and "未知的文件类型" in err
    code, _, err = run(station, capsys, "map", "死亡名单.csv", "--column", "不存在=注销日期")
    assert code == 2 and "没有表头「不存在」" in err
    code, _, err = run(station, capsys, "map", "死亡名单.csv", "--column", "办理时间=火化日期")
    assert code == 2 and "没有字段「火化日期」" in err
    code, _, err = run(station, capsys, "map", "别的.csv")
    assert code == 2 and "不在待确认列表中" in err


def test_view_masks_ids_and_birth_dates_beside_them(station):
    deliver(station, "public_security/名单.csv",
            "证件号,姓名,生日,办理时间,注销原因\n"
            f"{ID_A},张三,1956-01-01,2026-03-15,死亡\n")
    station.ingest(evaluate=False)
    mv = mapping.view(station, "名单.csv", kind="household_deaths",
                      columns={"证件号": "公民身份号码", "办理时间": "注销日期"})
    shown = " ".join(v for c in mv.columns for v in c.samples)
    assert ID_A not in shown and "19560101" not in shown and "1956-01-01" not in shown and "1956-**-**" in shown
    assert mv.ready and mv.preview and ID_A not in str(mv.preview[0].values)
    raw = mapping.view(station, "名单.csv", kind="household_deaths",
                       columns={"证件号": "公民身份号码", "办理时间": "注销日期"}, unmasked=True)
    assert ID_A in " ".join(v for c in raw.columns for v in c.samples)


def test_alias_insertion_keeps_comments_and_handles_block_lists():
    text = ("# top comment\naliases:\n  姓名:\n    - 人员姓名  # inline\n  # c\n"
            "  注销日期: 销户日期\nkinds: {}\n")
    out = insert_aliases(text, [("名字", "姓名"), ("注销时间", "注销日期"), ("a, b", "殡仪馆")], "2026-12-08 测试")
    assert out.startswith("# top comment\n") and "# inline" in out
    import yaml
    data = yaml.safe_load(out)
    assert data["aliases"] == {"姓名": ["人员姓名", "名字"], "注销日期": ["销户日期", "注销时间"],
                               "殡仪馆": ["a, b"]}
    assert out.count("# 2026-12-08 测试") == 3


def test_saved_alias_text_cannot_inject_yaml(station, capsys):
    deliver(station, "public_security/x.csv",
            "公民身份号码,姓名,\"办理]\n时间: [x]\",注销原因\n"
            f"{ID_A},张三,2026-03-15,死亡\n")
    run(station, capsys, "ingest")
    header = "办理] 时间: [x]"
    mv = mapping.view(station, "x.csv")
    assert any(c.header == header for c in mv.columns)
    mapping.confirm(station, "x.csv", columns={header: "注销日期"}, save_aliases=True, evaluate=False)
    cfg = load_config(station.home.rules_path)
    from station.config import fold_header
    assert cfg.aliases[fold_header(header)] == "注销日期"


def test_a_confirmation_cut_short_before_the_move_is_finished(station, capsys, monkeypatch):
    from station.inbox.pipeline import Pipeline
    deliver(station, "public_security/死亡名单.csv", DEATHS)
    run(station, capsys, "ingest")

    def killed(self, src, dest):
        raise OSError(5, "simulated crash after the commit")
    monkeypatch.setattr(Pipeline, "_store", killed)
    with pytest.raises(OSError):
        mapping.confirm(station, "死亡名单.csv", columns={"办理时间": "注销日期"}, evaluate=False)
    monkeypatch.undo()
    assert (station.home.held / "public_security" / "死亡名单.csv").exists()
    assert mapping.pending(station) == []                       # applied once; the move finished
    assert list(station.home.held.rglob("*.csv")) == []
    assert len(list(station.home.processed.rglob("死亡名单.csv"))) == 1
    assert station.conn.execute("SELECT count(*) FROM household_deaths").fetchone()[0] == 2


def test_the_watcher_never_takes_a_held_file(station, capsys):
    import time
    from station.services.inbox import InboxWatcher
    deliver(station, "public_security/死亡名单.csv", DEATHS)
    run(station, capsys, "ingest")
    kept = station.home.held / "public_security" / "死亡名单.csv"
    taken = []
    w = InboxWatcher(station.home, taken.extend, settle_seconds=0.0)
    w._hint(kept)                                  # an event from inside held/ (e.g. a touch)
    w.scan_once()
    now = time.monotonic()
    assert w._ready(now) == [] and w._ready(now + 5) == []
    assert taken == [] and kept.exists()
