"""The review log and the monthly report printed as an office prints them.

LibreOffice Calc with its default settings converts the XLSX exports of the samples to
PDF (as WPS and Excel would print them: the page setup travels in the file). Checked on
the PDF's text: every column of the review log and its title on page 1, the title on every
page, the monthly report on at most 4 pages, no apostrophe in front of a note that looks
like a formula. Needs the Debian packages libreoffice-calc-nogui and poppler-utils (and
fonts-noto-cjk for the glyphs); without them the test says so and is skipped. The page
setup itself is unit-tested everywhere in test_export_review_log.py and test_report.py.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import SAMPLES_AS_OF
from station.cli import main

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = pytest.mark.skipif(
    not (SOFFICE and shutil.which("pdftotext") and shutil.which("pdfinfo")),
    reason="LibreOffice (libreoffice-calc-nogui) and poppler-utils are not installed")

FORMULA_NOTE = '=HYPERLINK("http://x","y") 核实属实'
REVIEW_LOG_HEADER = ("序号", "时间", "复核人", "疑点编号", "规则", "部门", "对象", "姓名", "决定", "说明",
                     "涉及金额", "追回金额")


def to_pdf(xlsx: Path, tmp_path: Path) -> Path:
    """Convert with a private LibreOffice profile (two test runs never share one)."""
    profile = tmp_path / "lo-profile"
    res = subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless",
                          "--convert-to", "pdf", "--outdir", str(tmp_path), str(xlsx)],
                         capture_output=True, text=True, timeout=300)
    pdf = tmp_path / (xlsx.stem + ".pdf")
    assert res.returncode == 0 and pdf.exists(), res.stdout + res.stderr
    return pdf


def pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    return [p for p in text.split("\f") if p.strip()]


def decide(home, *args: str) -> None:
    assert main(["--home", str(home.root), "--reviewer", "张三", "decide", *args]) == 0


@pytest.fixture
def reviewed(loaded_station, capsys):
    """The samples with decisions of every kind, one note looking like a formula."""
    home = loaded_station.home
    decide(home, "1", "2", "3", "--action", "take")
    decide(home, "1", "--action", "confirm", "--note", FORMULA_NOTE)
    decide(home, "2", "--action", "dismiss", "--note", "经核实为同名同姓，已排除。" * 4)
    main(["--home", str(home.root), "--reviewer", "李四", "decide", "1", "--action", "rectify",
          "--amount", "1000", "--note", "已追回"])
    capsys.readouterr()
    return home


def test_review_log_prints_every_column_and_the_title_on_each_page(reviewed, tmp_path, capsys):
    out = tmp_path / "log.xlsx"
    assert main(["--home", str(reviewed.root), "export", "review-log", "--out", str(out)]) == 0
    pdf_pages = pages(to_pdf(out, tmp_path))
    first = pdf_pages[0]
    assert "核查台账" in first and "填报单位" in first
    for header in REVIEW_LOG_HEADER:
        assert header in first, f"column {header} is not on page 1"
    assert re.search(r"第\s*1\s*页\s*共\s*\d+\s*页", first)          # the footer
    text = "\n".join(pdf_pages)
    assert "HYPERLINK" in text and "'=HYPERLINK" not in text          # no visible apostrophe
    assert "填表人" in text and "负责人" in text


def test_monthly_report_prints_on_at_most_four_pages(reviewed, tmp_path, capsys):
    month = SAMPLES_AS_OF.strftime("%Y-%m")
    out = tmp_path / "report.xlsx"
    assert main(["--home", str(reviewed.root), "report", "--month", month, "--out", str(out)]) == 0
    pdf = to_pdf(out, tmp_path)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    count = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert 1 <= count <= 4
    first = pages(pdf)[0]
    assert "基金监督月报" in first
    # The per-rule table's columns are on one page, not split into vertical strips.
    for header in ("规则", "部门", "发现", "已处理", "涉及金额", "整改率达标"):
        assert header in first, f"column {header} is not on page 1"
