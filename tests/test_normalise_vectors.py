"""Our ID and credit-code checks against other libraries' test vectors.

The vectors are copied into tests/fixtures/vectors with attribution (see its README):
python-stdnum's cn.ric and cn.uscc doctests and id-validator's tests. Where our verdict
differs from theirs, the fixture says why.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from station.normalise import FieldError, normalise_credit_code, normalise_id

VECTORS = Path(__file__).parent / "fixtures" / "vectors"


def _id_rows():
    for line in (VECTORS / "ids.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            number, source, theirs, ours, why = (line.split("\t") + [""])[:5]
            yield pytest.param(number, theirs, ours, why, id=f"{source}:{number}")


@pytest.mark.parametrize("number, theirs, ours, why", list(_id_rows()))
def test_id_vectors(number, theirs, ours, why):
    assert (theirs == ours) == (not why), "a differing verdict must say why"
    _, valid = normalise_id(number)
    assert valid == (ours == "valid")


USCC = (VECTORS / "uscc_stdnum_valid.txt").read_text(encoding="ascii").split()


def test_there_are_enough_credit_code_vectors():
    assert len(USCC) == 383


@pytest.mark.parametrize("code", USCC)
def test_stdnum_valid_credit_codes_are_valid(code):
    assert normalise_credit_code(code) == code
    assert normalise_credit_code(code.lower()) == code
    assert normalise_credit_code(f"{code[:2]} {code[2:8]}-{code[8:]}") == code


@pytest.mark.parametrize("code", ["12345", "A1110000600037341L", "9111000060003IOZSV", "91110000600037341N"])
def test_stdnum_invalid_credit_codes_are_refused(code):
    with pytest.raises(FieldError):
        normalise_credit_code(code)
