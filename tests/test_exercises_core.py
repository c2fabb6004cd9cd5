"""The shared diagnosis of genai_lib.exercises: verdicts that name the mistake."""

import numpy as np

from genai_lib.exercises import Feedback, call_for_number, check_function, compare


def test_compare_names_shape_sign_factor_and_none():
    e = np.array([[1.0, 2.0, 3.0]])
    assert compare("g", e.copy(), e)
    assert "transposed" in compare("g", e.T, e).message
    assert "wrong sign" in compare("g", -e, e).message
    assert "factor of 2" in compare("g", 2 * e, e).message
    assert "return" in compare("g", None, e).message
    assert "NaN" in compare("g", np.array([[np.nan, 2, 3]]), e).message


def test_check_function_reports_the_failing_input():
    verdict = check_function("double", lambda x: x + x + (x > 2), lambda x: 2 * x, [1.0, 3.0])
    assert not verdict and "on input 3" in verdict.message


def test_call_for_number():
    assert call_for_number(lambda x: x + 1, (1,), "f(1)", "it") == 2.0
    none = call_for_number(lambda x: None, (1,), "f(1)", "the value")
    assert isinstance(none, Feedback) and "f(1) returned None" in none.message and "the value" in none.message
    boom = call_for_number(lambda x: 1 / 0, (1,), "f(1)", "it")
    assert isinstance(boom, Feedback) and "raised ZeroDivisionError" in boom.message
