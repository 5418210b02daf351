"""The mapping screen (确认对应关系) driven with the Pilot: choose the kind, correct a
field, preview, apply, the alias saved, and the next file from that partner applied
untouched."""
from __future__ import annotations

from station.config import load_config
from station.tui.screens.inbox import InboxScreen
from station.tui.screens.mapping import MappingScreen, _Picker
from test_tui_app import app_for, screen_text, settle, until

ID_A = "110101195601011235"
HEADER = "身份证,名字,离世日期,殡仪单位\n"


def held_file(station, name="火化.csv", rows=f"{ID_A},张三,2026-03-10,县殡仪馆\n"):
    path = station.home.inbox / "civil_affairs" / name
    path.write_text(HEADER + rows, encoding="utf-8")
    [r] = station.ingest([path]).results
    assert r.status == "held", r
    return r


async def pick(pilot, value: str) -> None:
    """In the open picker, move to ``value`` with the arrow keys and press Enter."""
    await until(pilot, lambda: isinstance(pilot.app.screen, _Picker), what="picker")
    picker = pilot.app.screen
    ids = [v for v, _ in picker.options]
    from textual.widgets import OptionList
    ol = picker.query_one(OptionList)
    here = ol.highlighted or 0
    target = ids.index(value)
    for _ in range(abs(target - here)):
        await pilot.press("down" if target > here else "up")
    await pilot.press("enter")


async def open_mapping(pilot) -> MappingScreen:
    """收件, then m on the newest row (the held file)."""
    await pilot.press("2")
    await settle(pilot)
    await pilot.press("m")
    return await mapping_ready(pilot)


async def mapping_ready(pilot) -> MappingScreen:
    await until(pilot, lambda: isinstance(pilot.app.screen, MappingScreen) and pilot.app.screen.view is not None,
                what="mapping view")
    await settle(pilot)
    return pilot.app.screen


async def test_choose_kind_correct_a_field_preview_apply_and_the_next_file_goes_through(station):
    held = held_file(station)
    app = app_for(station)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
        shot = screen_text(app)
        assert "待确认" in shot and "火化.csv" in shot and "按 m" in shot
        await pilot.press("m")                                  # newest first: the held file
        screen = await mapping_ready(pilot)
        assert screen.delivery_id == held.delivery_id

        await pilot.press("k")                                  # choose the kind
        await pick(pilot, "cremations")
        await until(pilot, lambda: screen.view.kind.name == "cremations" and screen.kind == "cremations",
                    what="kind chosen")
        await settle(pilot)
        by_header = {c.header: c for c in screen.view.columns}
        assert by_header["身份证"].samples == ["110101********1235"]      # masked

        # Correct a field: 殡仪单位 is the funeral home.
        table = screen.query_one("#map-columns")
        table.move_cursor(row=[c.header for c in screen.view.columns].index("殡仪单位"))
        await pilot.press("enter")
        await pick(pilot, "funeral_home")
        await until(pilot, lambda: {c.header: c.column for c in screen.view.columns}.get("殡仪单位")
                    == "funeral_home", what="field corrected")
        await settle(pilot)
        for header, field in (("身份证", "id_number"), ("名字", "name"), ("离世日期", "death_date")):
            if {c.header: c.column for c in screen.view.columns}[header] != field:
                table.move_cursor(row=[c.header for c in screen.view.columns].index(header))
                await pilot.press("enter")
                await pick(pilot, field)
                await until(pilot, lambda h=header, f=field: {c.header: c.column for c in screen.view.columns}[h] == f,
                            what=f"{header} → {field}")
                await settle(pilot)
        assert screen.view.ready
        shot = screen_text(app)
        assert "导入预览" in shot and "县殡仪馆" in shot and "2026-03-10" in shot
        assert ID_A not in shot and "110101********1235" in shot
        assert "确认后把新表头写入 rules.yaml" in shot

        await pilot.press("a")                                  # apply
        await until(pilot, lambda: isinstance(app.screen, InboxScreen), what="back in 收件")
        await settle(pilot)
        assert screen.result.result.status == "applied" and screen.result.result.rows_applied == 1

    rows = station.conn.execute("SELECT id_number, name, death_date, funeral_home FROM cremations").fetchall()
    assert rows == [(ID_A, "张三", "2026-03-10", "县殡仪馆")]
    cfg = load_config(station.home.rules_path)
    assert cfg.aliases["殡仪单位"] == "殡仪馆" and cfg.aliases["离世日期"] == "死亡日期"
    assert "确认「civil_affairs/火化.csv」" in station.home.rules_path.read_text(encoding="utf-8")

    station.cfg = station.home.config()
    path = station.home.inbox / "civil_affairs" / "火化2.csv"
    path.write_text(HEADER + "110101196001011239,李四,2026-04-01,县殡仪馆\n", encoding="utf-8")
    [r] = station.ingest([path]).results
    assert (r.status, r.kind, r.rows_applied) == ("applied", "cremations", 1)


async def test_a_file_that_is_not_ready_is_not_applied(station):
    held_file(station)
    app = app_for(station)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_mapping(pilot)
        table = screen.query_one("#map-columns")
        # Leave a required field out: nothing is applied, the screen says what is missing.
        first = screen.view.kind.required[0]
        idx = next(i for i, c in enumerate(screen.view.columns) if c.column == first.column)
        table.move_cursor(row=idx)
        await pilot.press("enter")
        await pick(pilot, "__ignore__")
        await until(pilot, lambda: not screen.view.ready, what="not ready")
        await settle(pilot)
        assert "缺少必填字段" in screen_text(app)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, MappingScreen)
    assert station.conn.execute("SELECT count(*) FROM deliveries WHERE status = 'applied'").fetchone()[0] == 0


async def test_a_held_file_can_be_refused(station):
    held = held_file(station)
    app = app_for(station)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_mapping(pilot)
        await pilot.press("x")
        await settle(pilot)
        await pilot.press(*"wrong")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, InboxScreen), what="back in 收件")
        await settle(pilot)
    status, reason = station.conn.execute("SELECT status, reason FROM deliveries WHERE id = ?",
                                          (held.delivery_id,)).fetchone()
    assert status == "rejected" and reason.startswith("经办人拒收：wrong")
    assert [p.name for p in station.home.rejected.iterdir() if p.suffix == ".csv"] == ["火化.csv"]
