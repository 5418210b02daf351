"""Build offline installation bundles ("wheelhouses") of the station.

Run on a machine that reaches the package registry; copy the resulting folder to a desk
without the internet and install there with

    python -m pip install --no-index --find-links <folder> station

A bundle holds the station's own wheel and a binary wheel of every dependency for one
target (operating system, processor, Python version), so nothing is built or fetched on
the desk. Usage:

    python packaging/wheelhouse.py                      # every target below
    python packaging/wheelhouse.py --target linux-x86_64 --python 3.11
    python packaging/wheelhouse.py --out dist/offline --target windows-x64

Targets: windows-x64 (Windows 10/11), linux-x86_64 and linux-aarch64 (统信 UOS, 银河麒麟
Kylin on x86, 鲲鹏 and 飞腾; glibc 2.17 or newer).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# pip --platform tags per target, newest first (pip takes any of them).
TARGETS: dict[str, list[str]] = {
    "windows-x64": ["win_amd64"],
    "linux-x86_64": ["manylinux_2_28_x86_64", "manylinux2014_x86_64"],
    "linux-aarch64": ["manylinux_2_28_aarch64", "manylinux2014_aarch64"],
}
PYTHONS = ["3.11", "3.12", "3.13"]


def build_station_wheel(dest: Path) -> Path:
    """The station's own wheel (pure Python, one for every target)."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(dest), str(ROOT)], check=True)
    wheels = sorted(dest.glob("station-*.whl"), key=lambda p: p.stat().st_mtime)
    return wheels[-1]


def build(target: str, python: str, out: Path, station_wheel: Path) -> Path:
    folder = out / f"station-{target}-py{python}"
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
           "--python-version", python, "--implementation", "cp", "--dest", str(folder)]
    for tag in TARGETS[target]:
        cmd += ["--platform", tag]
    # The station's wheel pulls in its dependencies with the versions pyproject allows.
    subprocess.run(cmd + [str(station_wheel)], check=True)
    (folder / "INSTALL.txt").write_text(
        "离线安装（无需联网）：\n"
        f"  python -m pip install --no-index --find-links \"{folder.name}\" station\n"
        "安装后运行 station --help 查看命令；station demo 打开演示数据。\n",
        encoding="utf-8")
    return folder


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "dist" / "offline")
    ap.add_argument("--target", choices=sorted(TARGETS), action="append")
    ap.add_argument("--python", choices=PYTHONS, action="append")
    args = ap.parse_args(argv)
    wheel = build_station_wheel(args.out / "_station")
    for target in args.target or sorted(TARGETS):
        for python in args.python or PYTHONS:
            folder = build(target, python, args.out, wheel)
            print(f"{folder}  ({len(list(folder.glob('*.whl')))} wheels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
