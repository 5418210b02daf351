"""The station's home folder: where the inbox, database, configuration and exports live.

Resolution order: ``--home DIR``, else ``STATION_HOME``, else the current directory.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from .config import Config, load_config
from .kinds.spec import DEPARTMENTS
from .platform import NETWORK_FILESYSTEMS, filesystem_of, is_network_filesystem  # noqa: F401 (re-exported)

DB_NAME = "station.db"


class HomeError(Exception):
    """The home folder cannot be used. ``str(e)`` is a Chinese message for the user."""


INBOX_README = """# 收件箱 inbox

把合作部门报送的文件放进对应的子文件夹，基金监督站会自动识别、导入并比对：
Drop each delivery into the sub-folder of the department that sent it:

| 文件夹 folder | 部门 department | 文件 files |
|---|---|---|
| agency/ | 经办机构 | 参保人员、参保单位、待遇发放、残疾人参保补助、城乡居民医保参保、社保费核定 |
| public_security/ | 公安 | 户籍注销人员（死亡注销） |
| civil_affairs/ | 民政 | 殡葬火化记录 |
| industry_commerce/ | 市场监管/工商 | 企业登记信息 |
| education/ | 教育 | 新生名册 |
| disability/ | 残联 | 残疾人变动信息 |
| archive/ | 档案室 | 档案扫描索引 |
| tax/ | 税务 | 社保费征收明细 |
| finance/ | 财政 | 财政专户入账 |
| bank/ | 银行 | 银行代发回盘 |

支持 CSV（UTF-8 / GBK）、XLSX、XLS、JSON。已导入的文件移到 `processed/年-月/`，
无法导入的文件移到 `rejected/`，旁边的 `.原因.txt` 写明原因。原文件逐字节保留，作为证据。
Applied files move to `processed/YYYY-MM/`; files that cannot be read move to `rejected/`
with a reason file beside them. Originals are kept byte for byte as evidence.

表头认不准、像是别的部门的文件不会被猜着导入：原样移到 `held/`（待确认），在审核界面「收件」中选中后按 m
确认文件类型和各列字段再导入（命令行：station pending、station map）。确认时可把新表头写入 rules.yaml，
下次同样的文件自动导入。`.zip` 中的每个文件各作为一份报送导入；加密或损坏的压缩包移到 `held/` 并写明原因。
A file the station is not sure of waits in `held/` (待确认) until its kind and columns are
confirmed (TUI 收件 → m, or `station map`); each file in a `.zip` is a delivery of its own.
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
    def held(self) -> Path:
        """Deliveries waiting for a clerk to confirm their kind and columns (待确认)."""
        return self.inbox / "held"

    def kept_folders(self) -> tuple[Path, ...]:
        """Inbox sub-folders where the station keeps originals: never taken as deliveries."""
        return (self.processed, self.rejected, self.held)

    @property
    def db_path(self) -> Path:
        return self.root / DB_NAME

    @property
    def work(self) -> Path:
        """Private snapshots of the deliveries being applied (station.inbox.taking)."""
        return self.root / ".work"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def rules_path(self) -> Path:
        return self.root / "rules.yaml"

    def is_station(self) -> bool:
        """Whether this folder is a station's home: it has a register, the inbox that
        :meth:`ensure` lays out (a home made before its first delivery), or its own
        rules.yaml (a home being set up)."""
        return (self.db_path.exists() or self.db_path.is_symlink()
                or (self.inbox / "README.md").is_file() or self.rules_path.is_file())

    def require(self) -> "Home":
        """Raise :class:`HomeError` unless this is a station's home: a mistyped ``--home``
        must never look like an empty, all-clear station (nor create one)."""
        if not self.is_station():
            raise HomeError(
                f"{self.root} 不是监督站的工作目录（其中没有 station.db 和收件箱）。请检查 --home 或 STATION_HOME "
                f"是否写错；如要新建工作目录，请运行 station init {self.root}，或用 station ingest 导入第一批文件。")
        return self

    def config(self) -> Config:
        """The home's rules.yaml, or the packaged default when the home has none."""
        return load_config(self.rules_path if self.rules_path.exists() else None)

    def ensure(self) -> "Home":
        """Create the folder layout (owner-only) or raise :class:`HomeError`."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for d in (self.inbox, *self.kept_folders(), self.exports, self.work):
                d.mkdir(mode=0o700, exist_ok=True)
            for d in (*self.kept_folders(), self.exports, self.work):
                os.chmod(d, 0o700)
            for dept in DEPARTMENTS:
                (self.inbox / dept).mkdir(exist_ok=True)
            readme = self.inbox / "README.md"
            if not readme.exists():
                readme.write_text(INBOX_README, encoding="utf-8")
            check_local(self.root)
            if self.db_path.is_symlink():     # station.db linked to another disk: that disk counts
                check_local(self.db_path)
            # A probe of its own: two station programs starting at once must not remove
            # each other's.
            probe = self.root / f".station-write-test-{os.getpid()}-{threading.get_ident()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise HomeError(
                f"无法使用工作目录 {self.root}：{e.strerror or e}。"
                "请检查该目录是否存在、磁盘是否已满、当前用户是否有写权限，或用 --home 指定其他目录。"
            ) from None
        return self


def check_local(root: Path, mountinfo: Path | None = None) -> None:
    """Refuse a home (and so a database) on a network filesystem."""
    found = filesystem_of(root, mountinfo)
    if found is None:
        return
    fstype, point = found
    if is_network_filesystem(fstype):
        what = "数据库文件" if root.name == DB_NAME else "工作目录"
        raise HomeError(
            f"{what} {root} 位于网络文件系统（{fstype}，挂载点 {point}）上。"
            "数据库放在网络共享上会因文件锁不可靠而损坏，本站拒绝在此运行。"
            "请把工作目录（--home）放在本机磁盘上；合作部门的共享文件夹可以继续用来交换文件，"
            "把文件复制或移动到本机的 inbox/ 即可。")


def resolve_home(option: str | os.PathLike | None = None) -> Home:
    root = option or os.environ.get("STATION_HOME") or os.getcwd()
    return Home(Path(root).expanduser().resolve())
