"""rules.yaml: the default loads, and every kind of mistake names its line, in Chinese."""
from pathlib import Path

import pytest

from station.config import ConfigError, fold_header, load_config
from station.rules.engine import rule_settings

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, text):
    p = tmp_path / "rules.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_top_level_rules_yaml_is_the_packaged_default():
    assert (ROOT / "rules.yaml").read_text(encoding="utf-8") == \
        (ROOT / "station" / "rules.yaml").read_text(encoding="utf-8")


def test_default_config_knows_domain_aliases():
    cfg = load_config(ROOT / "rules.yaml")
    assert cfg.aliases["身份证号"] == "公民身份号码"
    assert cfg.aliases["死者姓名"] == "姓名"
    assert cfg.aliases["等级"] == "残疾等级"
    assert cfg.aliases["公民身份号码"] == "公民身份号码"
    settings = rule_settings(cfg)
    assert settings["DEATH_NOT_STOPPED"].params["grace_days"] == 30
    assert settings["DEATH_DATE_CONFLICT"].params["max_days"] == 7


@pytest.mark.parametrize("raw, folded", [
    (" *姓名（必填） ", "姓名"), ("身份证号 (18位)", "身份证号"), ("＊公民身份号码＊", "公民身份号码"),
    ("发放 金额", "发放金额"), ("姓名[必填]", "姓名"),
])
def test_header_folding(raw, folded):
    assert fold_header(raw) == folded


def test_yaml_syntax_error_names_line(tmp_path):
    p = write(tmp_path, "aliases:\n  姓名: [人员姓名\nrules: {}\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert "第 3 行" in str(e.value) or "第 2 行" in str(e.value)
    assert "YAML" in str(e.value)


def test_unknown_rule_names_line(tmp_path):
    p = write(tmp_path, "rules:\n  DEATH_PAID: {}\n  NO_SUCH_RULE:\n    grace_days: 3\n")
    with pytest.raises(ConfigError) as e:
        rule_settings(load_config(p))
    assert "第 3 行" in str(e.value) and "NO_SUCH_RULE" in str(e.value)


def test_wrong_parameter_type_names_line(tmp_path):
    p = write(tmp_path, "rules:\n  DEATH_NOT_STOPPED:\n    grace_days: 三十\n")
    with pytest.raises(ConfigError) as e:
        rule_settings(load_config(p))
    assert "第 3 行" in str(e.value) and "grace_days" in str(e.value)


def test_unknown_parameter_names_line(tmp_path):
    p = write(tmp_path, "rules:\n  DEATH_PAID:\n    severity: high\n    gracedays: 3\n")
    with pytest.raises(ConfigError) as e:
        rule_settings(load_config(p))
    assert "第 4 行" in str(e.value) and "gracedays" in str(e.value)


def test_alias_for_unknown_header_names_line(tmp_path):
    p = write(tmp_path, "aliases:\n  姓名: [人员姓名]\n  不存在的表头: [甲]\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert "第 3 行" in str(e.value) and "不存在的表头" in str(e.value)


def test_alias_claimed_twice(tmp_path):
    p = write(tmp_path, "aliases:\n  姓名: [名字]\n  单位名称: [名字]\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert "第 3 行" in str(e.value) and "名字" in str(e.value)


def test_unknown_top_level_key_and_bad_department(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, "version: 1\nrulez: {}\n"))
    assert "第 2 行" in str(e.value)
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, "kinds:\n  persons:\n    department: police\n"))
    assert "第 3 行" in str(e.value) and "police" in str(e.value)


def test_not_utf8(tmp_path):
    p = tmp_path / "rules.yaml"
    p.write_bytes("aliases:\n  姓名: [人员姓名]\n".encode("gbk"))
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert "UTF-8" in str(e.value)


def test_cli_reports_bad_config_without_traceback(tmp_path, capsys):
    from station.cli import main
    write(tmp_path, "rules:\n  DEATH_PAID:\n    severity: urgent\n")
    assert main(["--home", str(tmp_path), "status"]) == 2
    err = capsys.readouterr().err
    assert "第 3 行" in err and "Traceback" not in err


def test_with_office_keeps_comments_and_replaces_only_office():
    from station.config import default_rules_text, load_config, with_office
    text = default_rules_text()
    once = with_office(text, "甲县 人社局")
    twice = with_office(once, "乙县人社局")
    assert twice.count("\noffice:") == 1 and 'office: "乙县人社局"' in twice
    assert twice.replace('office: "乙县人社局"', 'office: ""') == text      # nothing else changed
    assert with_office("version: 1\nrules: {}\n", 'a"b').startswith('version: 1\noffice: "a\\"b"')
