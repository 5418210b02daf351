"""The station's home folder: where the inbox, database, configuration and exports live.

Resolution order: ``--home DIR``, else ``STATION_HOME``, else the current directory.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .config import Config, load_config
from .kinds.spec import DEPARTMENTS

DB_NAME = "station.db"


class HomeError(Exception):
    """The home folder cannot be used. ``str(e)`` is a Chinese message for the user."""


INBOX_README = """# 收件箱 inbox

把合作部门报送的文件放进对应的子文件夹，基金监督站会自动识别、导入并比对：
Drop each delivery into the sub-folder of the department that sent it:

| 文件夹 folder | 部门 department | 文件 files |
|---|---|---|
| agency/ | 经办机构 | 参保人员、参保单位、待遇发放、残疾人参保补助、城乡居民医保参保 |
| public_security/ | 公安 | 户籍注销人员（死亡注销） |
| civil_affairs/ | 民政 | 殡葬火化记录 |
| industry_commerce/ | 市场监管/工商 | 企业登记信息 |
| education/ | 教育 | 新生名册 |
| disability/ | 残联 | 残疾人变动信息 |
| archive/ | 档案室 | 档案扫描索引 |

支持 CSV（UTF-8 / GBK）、XLSX、XLS、JSON。已导入的文件移到 `processed/年-月/`，
无法导入的文件移到 `rejected/`，旁边的 `.原因.txt` 写明原因。原文件逐字节保留，作为证据。
Applied files move to `processed/YYYY-MM/`; files that cannot be read move to `rejected/`
with a reason file beside them. Originals are kept byte for byte as evidence.
"""


@dataclass
class Home:
    root: Path

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def processed(self) -> Path:
        return self.inbox / "processed"

    @property
    def rejected(self) -> Path:
        return self.inbox / "rejected"

    @property
    def db_path(self) -> Path:
        return self.root / DB_NAME

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def rules_path(self) -> Path:
        return self.root / "rules.yaml"

    def config(self) -> Config:
        """The home's rules.yaml, or the packaged default when the home has none."""
        return load_config(self.rules_path if self.rules_path.exists() else None)

    def ensure(self) -> "Home":
        """Create the folder layout (owner-only) or raise :class:`HomeError`."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for d in (self.inbox, self.processed, self.rejected, self.exports):
                d.mkdir(mode=0o700, exist_ok=True)
            for d in (self.processed, self.rejected, self.exports):
                os.chmod(d, 0o700)
            for dept in DEPARTMENTS:
                (self.inbox / dept).mkdir(exist_ok=True)
            readme = self.inbox / "README.md"
            if not readme.exists():
                readme.write_text(INBOX_README, encoding="utf-8")
            probe = self.root / ".station-write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise HomeError(
                f"无法使用工作目录 {self.root}：{e.strerror or e}。"
                "请检查该目录是否存在、磁盘是否已满、当前用户是否有写权限，或用 --home 指定其他目录。"
            ) from None
        return self


def resolve_home(option: str | os.PathLike | None = None) -> Home:
    root = option or os.environ.get("STATION_HOME") or os.getcwd()
    return Home(Path(root).expanduser().resolve())
