"""Build the self-contained `station` program (PyInstaller, one folder) and smoke-test it.

    python packaging/build_exe.py            # build into dist/exe/station and test it
    python packaging/build_exe.py --no-test  # build only

Run it on the operating system the program is for (PyInstaller does not cross-compile):
on Windows it produces dist\\exe\\station\\station.exe. Needs `pip install pyinstaller`.

The smoke test runs the built program with an empty environment (no Python on PATH):
`ingest` of the sample deliveries must apply every file, and, where tmux exists, the TUI
must draw its dashboard.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "fixtures" / "samples" / "inbox"


def build(dist: Path) -> Path:
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                    "--distpath", str(dist), "--workpath", str(ROOT / "build" / "pyinstaller"),
                    str(ROOT / "packaging" / "station.spec")], check=True)
    exe = dist / "station" / ("station.exe" if os.name == "nt" else "station")
    if not exe.exists():
        raise SystemExit(f"no program at {exe}")
    return exe


def smoke_test(exe: Path) -> None:
    bare = {"PATH": os.pathsep.join([str(exe.parent)]), "HOME": tempfile.gettempdir(),
            "LANG": "C.UTF-8", "TERM": "xterm-256color"}
    if os.name == "nt":
        bare["SYSTEMROOT"] = os.environ.get("SYSTEMROOT", r"C:\Windows")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        shutil.copytree(SAMPLES, home / "inbox")
        res = subprocess.run([str(exe), "--home", str(home), "ingest"], env=bare,
                             capture_output=True, text=True, encoding="utf-8", timeout=300)
        print(res.stdout[-400:])
        if res.returncode != 0 or "已拒收 0" not in res.stdout:
            raise SystemExit(f"ingest failed ({res.returncode}): {res.stderr[-2000:]}")
        if shutil.which("tmux"):
            session = f"station-smoke-{os.getpid()}"
            cmd = " ".join(f"{k}={v}" for k, v in bare.items())
            subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40",
                            f"env -i {cmd} {exe} --home {home} --reviewer 测试"], check=True)
            try:
                screen = ""
                for _ in range(60):
                    time.sleep(0.5)
                    screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                            capture_output=True, text=True).stdout
                    if "总览" in screen and "登记库" in screen:
                        break
                else:
                    raise SystemExit("the TUI did not draw its dashboard:\n" + screen)
                print("TUI drew its dashboard.")
            finally:
                subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dist", type=Path, default=ROOT / "dist" / "exe")
    ap.add_argument("--no-test", action="store_true")
    args = ap.parse_args(argv)
    exe = build(args.dist)
    print(f"built {exe}")
    if not args.no_test:
        smoke_test(exe)
    return 0


if __name__ == "__main__":
    sys.exit(main())
