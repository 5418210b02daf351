"""Loading and validating ``rules.yaml``, the office's configuration.

A bad file never produces a traceback: every problem becomes a :class:`ConfigError`
whose message names the file and the line, in Chinese, and says what to do.

Rule parameters are validated by the rules package (it knows each rule's parameters);
it calls :meth:`Config.error_at` so that its messages carry the line too.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .kinds.spec import DEPARTMENTS, KINDS


class ConfigError(Exception):
    """rules.yaml cannot be used. ``str(e)`` is a complete Chinese message for the user."""


@dataclass(frozen=True)
class KindConfig:
    department: str
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Limits:
    max_file_mb: int = 1024
    max_columns: int = 500
    max_cell_chars: int = 10000
    quiet_seconds: int = 5      # a file not seen closed by its writer (polling a share) is taken after this quiet

    @property
    def max_bytes(self) -> int:
        return self.max_file_mb * 1024 * 1024


@dataclass(frozen=True)
class ReviewConfig:
    ageing_days: int = 30
    four_eyes: bool = False
    four_eyes_threshold: float = 10000.0


@dataclass
class Config:
    source: str                               # file path or "<内置默认配置>"
    aliases: dict[str, str]                   # folded spelling -> canonical header
    kinds: dict[str, KindConfig]
    limits: Limits
    review: ReviewConfig
    rules: dict[str, dict[str, Any]]          # rule id -> raw parameters
    office: str | None = None                 # 填报单位 printed on review logs and reports
    _lines: dict[tuple, int] = field(default_factory=dict, repr=False)

    def line_of(self, *path: Any) -> int | None:
        """The line (1-based) where the value at ``path`` is written, if known."""
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return None

    def error_at(self, path: tuple, message: str) -> ConfigError:
        line = self.line_of(*path)
        where = f"{self.source} 第 {line} 行" if line else self.source
        return ConfigError(f"配置文件有误（{where}）：{message}")

    def rule_params(self, rule_id: str) -> dict[str, Any]:
        return self.rules.get(rule_id, {})


def fold_header(text: Any) -> str:
    """Fold a header cell for comparison (DOMAIN.md § Header aliases).

    Trim, NFKC (full-width to half-width), drop a trailing bracketed note and a leading
    or trailing star, and remove inner whitespace: ``' *姓名（必填） '`` → ``'姓名'``.
    """
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text)).strip()
    # NFKC turns full-width brackets into ASCII ones; strip trailing notes repeatedly.
    while s.endswith(")") and "(" in s:
        s = s[: s.rindex("(")].rstrip()
    while s.endswith("]") and "[" in s:
        s = s[: s.rindex("[")].rstrip()
    s = s.strip("*＊ \t")
    return "".join(s.split())


# --------------------------------------------------------------------------- loading

def _compose(text: str, source: str):
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = f" 第 {mark.line + 1} 行" if mark else ""
        raise ConfigError(
            f"配置文件有误（{source}{line}）：YAML 格式错误（{e.problem}）。"
            "请检查缩进、冒号和引号，或从安装包中的默认 rules.yaml 重新复制。"
        ) from None
    except yaml.YAMLError as e:  # pragma: no cover - other YAML errors carry no mark
        raise ConfigError(f"配置文件有误（{source}）：{e}") from None


def _to_python(node, path: tuple, lines: dict, source: str):
    """Convert a composed YAML node to Python, recording the line of every path."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(
                    f"配置文件有误（{source} 第 {key_node.start_mark.line + 1} 行）：键不能是列表或映射。")
            key = _scalar(key_node, source)
            if key in out:
                raise ConfigError(
                    f"配置文件有误（{source} 第 {key_node.start_mark.line + 1} 行）："
                    f"「{key}」重复出现，请删除其中一个。")
            out[key] = _to_python(value_node, path + (key,), lines, source)
            lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(v, path + (i,), lines, source) for i, v in enumerate(node.value)]
    return _scalar(node, source)


def _scalar(node, source: str):
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as e:
        raise ConfigError(
            f"配置文件有误（{source} 第 {node.start_mark.line + 1} 行）：无法理解的值（{e}）。") from None
    finally:
        loader.dispose()


def default_rules_text() -> str:
    return resources.files("station").joinpath("rules.yaml").read_text(encoding="utf-8")


def with_office(text: str, office: str) -> str:
    """``text`` (a rules.yaml) with its top-level ``office:`` set to ``office``; added after
    ``version:`` (or at the top) when the file has none. Comments are kept."""
    import json
    import re
    value = json.dumps(" ".join(office.split()), ensure_ascii=False)   # a YAML double-quoted string
    line = f"office: {value}"
    pattern = re.compile(r"^office:.*$", re.MULTILINE)
    if pattern.search(text):
        return pattern.sub(lambda _: line, text, count=1)
    version = re.search(r"^version:.*$", text, re.MULTILINE)
    if version:
        return text[:version.end()] + "\n" + line + text[version.end():]
    return line + "\n" + text


def load_config(path: Path | None = None) -> Config:
    """Load ``path`` (or the packaged default when None) and validate its structure."""
    if path is None:
        source, text = "<内置默认配置>", default_rules_text()
    else:
        source = str(path)
        try:
            raw = Path(path).read_bytes()
        except OSError as e:
            raise ConfigError(f"无法读取配置文件 {source}：{e.strerror}。请检查文件是否存在、是否有读取权限。") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ConfigError(
                f"配置文件有误（{source}）：文件不是 UTF-8 编码。请用记事本“另存为 UTF-8”后重试。") from None
    node = _compose(text, source)
    lines: dict[tuple, int] = {}
    data = _to_python(node, (), lines, source) if node is not None else {}
    return _build(data, lines, source)


def _build(data: Any, lines: dict, source: str) -> Config:
    cfg = Config(source=source, aliases={}, kinds={}, limits=Limits(), review=ReviewConfig(),
                 rules={}, _lines=lines)
    if not isinstance(data, dict):
        raise cfg.error_at((), "顶层应为“键: 值”的映射（aliases、kinds、rules 等）。")
    known = {"version", "office", "aliases", "kinds", "limits", "review", "rules"}
    for key in data:
        if key not in known:
            raise cfg.error_at((key,), f"未知的配置项「{key}」。可用的有：{'、'.join(sorted(known))}。")

    office = data.get("office")
    if office is not None and not isinstance(office, str):
        raise cfg.error_at(("office",), "office 应为填报单位的名称（文字），如 某某县人力资源和社会保障局基金监督科。")
    cfg.office = " ".join(office.split()) if office and office.strip() else None

    canonical = {f.header for k in KINDS.values() for f in k.fields}
    aliases = data.get("aliases") or {}
    if not isinstance(aliases, dict):
        raise cfg.error_at(("aliases",), "aliases 应为“标准表头: [别名, …]”的映射。")
    folded: dict[str, str] = {fold_header(h): h for h in canonical}
    for header, spellings in aliases.items():
        if fold_header(header) not in folded:
            raise cfg.error_at(("aliases", header),
                               f"「{header}」不是任何文件类型的标准表头，无法为它设置别名。")
        if isinstance(spellings, str):
            spellings = [spellings]
        if not isinstance(spellings, list):
            raise cfg.error_at(("aliases", header), f"「{header}」的别名应写成列表，如 [别名1, 别名2]。")
        for i, alias in enumerate(spellings):
            key = fold_header(alias)
            if not key:
                raise cfg.error_at(("aliases", header, i), "别名不能为空。")
            target = folded.get(key)
            if target and target != folded[fold_header(header)] and key in {fold_header(h) for h in canonical}:
                raise cfg.error_at(("aliases", header, i), f"别名「{alias}」本身是另一个标准表头，不能再作别名。")
            if key in cfg.aliases and cfg.aliases[key] != header:
                raise cfg.error_at(("aliases", header, i),
                                   f"别名「{alias}」同时属于「{cfg.aliases[key]}」和「{header}」，请只保留一处。")
            cfg.aliases[key] = folded[fold_header(header)]
    for key, header in folded.items():
        cfg.aliases[key] = header

    kinds = data.get("kinds") or {}
    if not isinstance(kinds, dict):
        raise cfg.error_at(("kinds",), "kinds 应为“类型名: {department: …, names: […]}”的映射。")
    for name, spec in KINDS.items():
        entry = kinds.get(name) or {}
        if not isinstance(entry, dict):
            raise cfg.error_at(("kinds", name), f"类型「{name}」的设置应为映射，如 {{department: agency}}。")
        dept = entry.get("department", spec.department)
        if dept not in DEPARTMENTS:
            raise cfg.error_at(("kinds", name, "department"),
                               f"未知的部门「{dept}」。可用的有：{'、'.join(DEPARTMENTS)}。")
        names = entry.get("names", [])
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list):
            raise cfg.error_at(("kinds", name, "names"), "names 应为文件名关键词列表。")
        cfg.kinds[name] = KindConfig(dept, tuple(str(n) for n in names))
    for name in kinds:
        if name not in KINDS:
            raise cfg.error_at(("kinds", name),
                               f"未知的文件类型「{name}」。可用的有：{'、'.join(KINDS)}。")

    cfg.limits = Limits(**_ints(cfg, data.get("limits"), ("limits",), Limits()))
    review = data.get("review") or {}
    if not isinstance(review, dict):
        raise cfg.error_at(("review",), "review 应为映射。")
    fe = review.get("four_eyes") or {}
    if isinstance(fe, bool):
        fe = {"enabled": fe}
    if not isinstance(fe, dict):
        raise cfg.error_at(("review", "four_eyes"), "four_eyes 应为 {enabled: true/false, threshold: 金额}。")
    enabled = fe.get("enabled", False)
    if not isinstance(enabled, bool):
        raise cfg.error_at(("review", "four_eyes", "enabled"), "enabled 只能是 true 或 false。")
    threshold = fe.get("threshold", 10000)
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or threshold < 0:
        raise cfg.error_at(("review", "four_eyes", "threshold"), "threshold 应为非负金额，如 10000。")
    ageing = review.get("ageing_days", 30)
    if not isinstance(ageing, int) or isinstance(ageing, bool) or ageing < 0:
        raise cfg.error_at(("review", "ageing_days"), "ageing_days 应为非负整数（天数）。")
    cfg.review = ReviewConfig(ageing, enabled, float(threshold))

    rules = data.get("rules") or {}
    if not isinstance(rules, dict):
        raise cfg.error_at(("rules",), "rules 应为“规则编号: {参数}”的映射。")
    for rule_id, params in rules.items():
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise cfg.error_at(("rules", rule_id), f"规则「{rule_id}」的参数应为映射，如 {{grace_days: 30}}。")
        cfg.rules[str(rule_id)] = params
    return cfg


def _ints(cfg: Config, section: Any, path: tuple, defaults) -> dict[str, int]:
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise cfg.error_at(path, f"{path[-1]} 应为映射。")
    out = {}
    for key, value in section.items():
        if not hasattr(defaults, key):
            raise cfg.error_at(path + (key,), f"未知的设置「{key}」。")
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise cfg.error_at(path + (key,), f"「{key}」应为正整数。")
        out[key] = value
    return out
