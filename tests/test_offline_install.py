"""The offline bundle (packaging/wheelhouse.py) installs on a machine without the registry.

Builds the Linux bundle for this interpreter (this needs the registry, as on the office's
build machine), installs it into a fresh virtualenv with pip told to use nothing but the
bundle (``--isolated --no-index``: no index, no configured find-links), and runs the
installed ``station`` on the samples: it must find what the source tree finds.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from conftest import SAMPLE_INBOX

ROOT = Path(__file__).resolve().parents[1]
PY = f"{sys.version_info.major}.{sys.version_info.minor}"


def desk_env() -> dict[str, str]:
    """The environment of a desk: none of this tree's Python path or pip settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}


def anomalies(cmd: list[str], home: Path, env=None) -> list[tuple]:
    res = subprocess.run(cmd + ["--home", str(home), "anomalies", "--format", "json"],
                         capture_output=True, text=True, encoding="utf-8", timeout=300, env=env)
    assert res.returncode == 0, res.stderr
    return sorted((a["rule"], a["period"] or "", a["amount"] or 0) for a in json.loads(res.stdout))


@pytest.mark.skipif(platform.system() != "Linux" or platform.machine() != "x86_64",
                    reason="the test builds the linux-x86_64 bundle")
def test_the_bundle_installs_without_the_registry_and_runs_the_samples(tmp_path):
    out = tmp_path / "offline"
    build = subprocess.run([sys.executable, str(ROOT / "packaging" / "wheelhouse.py"), "--out", str(out),
                            "--target", "linux-x86_64", "--python", PY],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    bundle = out / f"station-linux-x86_64-py{PY}"
    assert (bundle / "INSTALL.txt").exists()
    assert list(bundle.glob("station-*.whl")) and list(bundle.glob("textual-*.whl"))

    env_dir = tmp_path / "desk"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    inst = subprocess.run([str(py), "-m", "pip", "install", "--isolated", "--no-index",
                           "--find-links", str(bundle), "station"],
                          capture_output=True, text=True, timeout=600, env=desk_env())
    assert inst.returncode == 0, inst.stdout + inst.stderr
    station_exe = env_dir / "bin" / "station"
    help_ = subprocess.run([str(station_exe), "--help"], capture_output=True, text=True, timeout=120,
                           env=desk_env())
    assert help_.returncode == 0 and "基金监督站" in help_.stdout

    installed, source = tmp_path / "installed", tmp_path / "source"
    runs = ((installed, [str(station_exe)], desk_env()), (source, [sys.executable, "-m", "station"], None))
    for home, cmd, env in runs:
        shutil.copytree(SAMPLE_INBOX, home / "inbox")
        res = subprocess.run(cmd + ["--home", str(home), "ingest", "--as-of", "2026-11-15"],
                             capture_output=True, text=True, timeout=300, env=env)
        assert res.returncode == 0, res.stdout + res.stderr
    # The installed copy runs from the venv, not from this source tree.
    where = subprocess.run([str(py), "-c", "import station; print(station.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=desk_env())
    assert str(env_dir) in where.stdout
    got = anomalies([str(station_exe)], installed, desk_env())
    assert got and got == anomalies([sys.executable, "-m", "station"], source)
    shutil.rmtree(env_dir)
