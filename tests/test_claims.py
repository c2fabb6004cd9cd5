"""The seed sweep's report (tools/claims.py): it names the failing line and its error."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import claims  # noqa: E402

TRACEBACK = """\x1b[31mAssertionError\x1b[39m   Traceback (most recent call last)
Cell In[1], line 3
      1 x = 1
----> 3 assert acc["a"] < acc["b"], acc
      4 y = 2

AssertionError: {'a': 0.91, 'b': 0.90}
"""


def test_summary_names_the_failing_line_and_the_error():
    assert claims.summary(TRACEBACK) == (
        "assert acc[\"a\"] < acc[\"b\"], acc  ->  AssertionError: {'a': 0.91, 'b': 0.90}")


def test_summary_of_an_error_without_a_marked_line():
    assert claims.summary("something\nKeyError: 'log-lik.'") == "KeyError: 'log-lik.'"


def test_a_sweep_needs_two_seeds():
    with pytest.raises(SystemExit):
        claims.main(["--seeds", "0"])
