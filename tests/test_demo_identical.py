"""The demo county is byte for byte the same for a given seed.

The manifest tests/fixtures/demo_county_hashes.json holds the SHA-256 of every file the
generator writes (and of its summary: planted, expected, near-misses, bad rows) for a few
small counties. It was written by the generator as it stood before it was split into
modules (issue 12), so a refactoring that changes one byte or one random draw fails here.

When the county is changed on purpose (new kinds, new plants), rewrite the manifest and
say so in the commit:  PYTHONPATH=. python tests/test_demo_identical.py --write
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

import pytest

from station.demo.generate import generate_county

MANIFEST = Path(__file__).parent / "fixtures" / "demo_county_hashes.json"

CASES = {
    "messy": dict(persons=400, seed=7, messy=True),
    "clean": dict(persons=400, seed=7, messy=False),
    "short": dict(persons=300, seed=11, messy=True, months=4, as_of=dt.date(2026, 3, 3)),
}


def county_hashes(dest: Path, **kw) -> dict[str, str]:
    summary = generate_county(dest, **kw)
    out = {p.relative_to(dest).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
           for p in sorted(dest.rglob("*")) if p.is_file()}
    d = summary.to_dict()
    d.pop("seconds")
    d.pop("dest")
    out["<summary>"] = hashlib.sha256(json.dumps(d, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_demo_county_is_byte_identical_for_a_seed(tmp_path, case):
    want = json.loads(MANIFEST.read_text(encoding="utf-8"))[case]
    got = county_hashes(tmp_path / case, **CASES[case])
    assert sorted(got) == sorted(want), "the county writes other files than before"
    changed = [name for name in want if got[name] != want[name]]
    assert not changed, f"these files of the {case} county differ from the manifest: {changed}"


if __name__ == "__main__":      # rewrite the manifest (only when the county changes on purpose)
    import tempfile
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_demo_identical.py --write")
    with tempfile.TemporaryDirectory() as tmp:
        manifest = {case: county_hashes(Path(tmp) / case, **kw) for case, kw in sorted(CASES.items())}
    MANIFEST.write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {MANIFEST}")
