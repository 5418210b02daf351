"""Saving a confirmed mapping's header spellings as aliases in the home's ``rules.yaml``.

The file is the office's own, with its comments: it is edited as text, not re-dumped. A
new spelling goes into the existing alias list of its canonical header (a flow list
``[a, b]`` or a block list ``- a``), or a new entry at the end of ``aliases:``; a comment
line above says when and from which file it came. The edited text must load and validate
(the same checks as ``station check-config``) before it replaces the file, atomically.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Sequence

import yaml

from ..config import Config, ConfigError, default_rules_text, fold_header, load_config
from ..kinds.spec import KINDS, KindSpec


class AliasError(Exception):
    """rules.yaml could not be edited; ``str(e)`` says why and what to do (Chinese)."""


def aliases_to_save(cfg: Config, spec: KindSpec, pairs: Sequence[tuple[str, str]]
                    ) -> tuple[list[tuple[str, str]], list[str]]:
    """Of (header as written, field column) pairs, the (alias, canonical header) pairs that
    rules.yaml does not know yet, and notes (Chinese) on headers that cannot be aliases."""
    by_column = {f.column: f for f in spec.fields}
    canonical_keys = {fold_header(f.header): f.header for k in KINDS.values() for f in k.fields}
    out, notes, seen = [], [], set()
    for header, column in pairs:
        f = by_column.get(column)
        alias = " ".join(str(header or "").split())
        key = fold_header(alias)
        if f is None or not key or key in seen:
            continue
        known = cfg.aliases.get(key)
        if known == f.header:
            continue
        if key in canonical_keys:
            notes.append(f"「{alias}」本身是标准表头「{canonical_keys[key]}」，不能作为「{f.header}」的别名，未保存。")
            continue
        if known is not None:
            notes.append(f"「{alias}」在 rules.yaml 中已是「{known}」的别名，未改为「{f.header}」。"
                         f"如确需修改，请手工编辑 rules.yaml。")
            continue
        seen.add(key)
        out.append((alias, f.header))
    return out, notes


def save_aliases(station, spec: KindSpec, pairs: Sequence[tuple[str, str]], *, source: str,
                 today: dt.date | None = None) -> tuple[list[tuple[str, str]], list[str]]:
    """Add the new spellings among ``pairs`` to the home's rules.yaml (created from the
    default when the home has none) and reload the station's configuration.
    Returns (aliases saved, notes)."""
    to_save, notes = aliases_to_save(station.cfg, spec, pairs)
    if not to_save:
        return [], notes
    path: Path = station.home.rules_path
    try:
        text = path.read_bytes().decode("utf-8-sig") if path.exists() else default_rules_text()
    except (OSError, UnicodeDecodeError) as e:
        raise AliasError(f"无法读取 {path}（{getattr(e, 'strerror', None) or e}），别名未保存。") from None
    comment = f"{(today or dt.date.today()).isoformat()} {_comment_safe(source)}"
    new_text = insert_aliases(text, to_save, comment)
    cfg = _write_checked(path, new_text)
    missing = [a for a, h in to_save if cfg.aliases.get(fold_header(a)) != h]
    if missing:        # pragma: no cover - insert_aliases guarantees it
        raise AliasError(f"别名未能写入 rules.yaml：{'、'.join(missing)}。")
    station.cfg = cfg
    return to_save, notes


def _write_checked(path: Path, text: str) -> Config:
    """Validate ``text`` as rules.yaml and put it in place atomically; the new Config."""
    from ..rules.engine import rule_settings
    fd, tmp = tempfile.mkstemp(prefix=".rules-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        try:
            cfg = load_config(Path(tmp))
            rule_settings(cfg)
        except ConfigError as e:
            raise AliasError(f"添加别名后 rules.yaml 无法通过检查（{e}），文件未修改。请手工添加别名。") from None
        try:
            os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        except OSError:
            pass
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return load_config(path)


_TOP_KEY = re.compile(r"^[^\s#-][^:]*:")
_ALIASES = re.compile(r"^aliases\s*:\s*(#.*)?$")


def insert_aliases(text: str, additions: Sequence[tuple[str, str]], comment: str) -> str:
    """``text`` (rules.yaml) with each (alias, canonical header) added under ``aliases:``,
    every other line (comments included) unchanged."""
    nl = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    grouped: dict[str, list[str]] = {}
    for alias, canonical in additions:
        grouped.setdefault(canonical, []).append(alias)
    start = next((i for i, l in enumerate(lines) if _ALIASES.match(l)), None)
    if start is None:
        if any(l.startswith("aliases") for l in lines):
            raise AliasError("rules.yaml 中 aliases 的写法无法自动修改（不是“每行一个标准表头”的格式），"
                             "别名未保存。请手工添加：" + _listing(grouped))
        body = [f"  # {comment}"] + [f"  {_scalar(c)}: [{', '.join(map(_scalar, a))}]" for c, a in grouped.items()]
        return nl.join(lines + ["", "aliases:"] + body) + nl
    end = start + 1                 # one past the block's last line
    last_entry = start
    indent = "  "
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if line.strip() and not line[0].isspace() and not line.lstrip().startswith("#"):
            break
        if line.strip() and not line.lstrip().startswith("#"):
            last_entry = i
            if indent == "  " and i == _first_entry(lines, start):
                indent = line[:len(line) - len(line.lstrip())]
        end = i + 1
    for canonical, aliases in grouped.items():
        note = f"{indent}# {comment}：{'、'.join(aliases)}"
        at = _entry_line(lines, start, last_entry, indent, canonical)
        if at is None:
            entry = f"{indent}{_scalar(canonical)}: [{', '.join(map(_scalar, aliases))}]"
            lines[last_entry + 1:last_entry + 1] = [note, entry]
            last_entry += 2
            continue
        key, value = lines[at].split(":", 1)
        stripped = value.strip()
        flow = re.fullmatch(r"\[(.*)\]\s*(#.*)?", stripped)
        if flow:
            inner = flow.group(1).strip()
            items = ", ".join(([inner] if inner else []) + [_scalar(a) for a in aliases])
            trailing = f"  {flow.group(2)}" if flow.group(2) else ""
            lines[at] = f"{key}: [{items}]{trailing}"
            lines.insert(at, note)
            last_entry += 1
        elif stripped == "" or stripped.startswith("#"):      # a block list follows
            last_item, item_indent = at, indent + "  "
            j = at + 1
            while j < len(lines):
                line = lines[j]
                if not line.strip() or line.lstrip().startswith("#"):
                    j += 1
                    continue
                depth = len(line) - len(line.lstrip())
                if depth >= len(indent) and line.lstrip().startswith("- "):
                    last_item, item_indent = j, line[:depth]
                    j += 1
                    continue
                break
            lines[last_item + 1:last_item + 1] = [f"{item_indent}- {_scalar(a)}" for a in aliases]
            lines.insert(at, note)
            last_entry += len(aliases) + 1
        else:                       # a single spelling written as a plain value
            try:
                old = yaml.safe_load(stripped)
            except yaml.YAMLError:
                old = None
            if not isinstance(old, str):
                raise AliasError(f"rules.yaml 中「{canonical}」的别名写法无法自动修改，别名未保存。"
                                 "请手工添加：" + _listing(grouped))
            lines[at] = f"{key}: [{', '.join([_scalar(old)] + [_scalar(a) for a in aliases])}]"
            lines.insert(at, note)
            last_entry += 1
    return nl.join(lines) + (nl if text.endswith(("\n", "\r")) or not text else "")


def _first_entry(lines: list[str], start: int) -> int:
    for i in range(start + 1, len(lines)):
        if lines[i].strip() and not lines[i].lstrip().startswith("#"):
            return i
    return -1


def _entry_line(lines: list[str], start: int, last: int, indent: str, canonical: str) -> int | None:
    want = fold_header(canonical)
    for i in range(start + 1, last + 1):
        line = lines[i]
        if not line.startswith(indent) or line[len(indent):][:1].isspace() or line.lstrip().startswith(("#", "-")):
            continue
        key = line.split(":", 1)[0].strip()
        try:
            key = str(yaml.safe_load(key)) if key[:1] in "'\"" else key
        except yaml.YAMLError:
            pass
        if ":" in line and fold_header(key) == want:
            return i
    return None


def _scalar(value: str) -> str:
    """``value`` as a YAML scalar inside a flow list: plain when it reads back as itself,
    else double-quoted."""
    try:
        if value and yaml.safe_load(f"[{value}]") == [value]:
            return value
    except yaml.YAMLError:
        pass
    return json.dumps(value, ensure_ascii=False)


_CONTROL = dict.fromkeys([*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029, 0x200E, 0x200F,
                          *range(0x202A, 0x202F), *range(0x2066, 0x206A)], " ")


def _comment_safe(text: str) -> str:
    return " ".join(str(text).translate(_CONTROL).split())[:200]


def _listing(grouped: dict[str, list[str]]) -> str:
    return "；".join(f"{c}: {'、'.join(a)}" for c, a in grouped.items()) + "。"
