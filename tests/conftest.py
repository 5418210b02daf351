"""Shared fixtures: a fresh station home, and the sample deliveries copied from
tests/fixtures/samples (a copy of the project's shared samples, so tests run anywhere)."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from station.home import Home
from station.services.station import Station

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = FIXTURES / "samples"
SAMPLE_INBOX = SAMPLES / "inbox"


def expected_anomalies() -> dict:
    return json.loads((SAMPLES / "expected_anomalies.json").read_text(encoding="utf-8"))


SAMPLES_AS_OF = dt.date.fromisoformat(expected_anomalies()["as_of"])


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path / "home").ensure()


@pytest.fixture
def station(home) -> Station:
    st = Station.open(home)
    yield st
    st.close()


def copy_samples(home: Home, only: str | None = None) -> list[Path]:
    """Copy the sample deliveries (or those whose path contains ``only``) into the inbox."""
    copied = []
    for src in sorted(SAMPLE_INBOX.rglob("*")):
        if src.is_file() and (only is None or only in str(src.relative_to(SAMPLE_INBOX))):
            dest = home.inbox / src.relative_to(SAMPLE_INBOX)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            copied.append(dest)
    return copied


@pytest.fixture
def loaded_station(station) -> Station:
    """A station with every sample delivery applied and evaluated at the samples' as_of."""
    copy_samples(station.home)
    station.ingest(as_of=SAMPLES_AS_OF)
    return station


def write_zip_bomb(path: Path) -> None:
    """An .xlsx whose sheet unpacks to 300 MB of spaces (about 300 KB packed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w") as f:
            block = b" " * (1 << 20)
            for _ in range(300):
                f.write(block)
