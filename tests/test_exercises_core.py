"""The shared diagnosis of genai_lib.exercises: verdicts that name the mistake."""

import numpy as np
import torch

from genai_lib.exercises import (
    Feedback,
    as_number,
    as_tensor,
    call_for_number,
    call_for_tensor,
    check_function,
    compare,
    constant_factor,
    diagnose,
)


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


def test_constant_factor_only_for_plausible_scale_mistakes():
    # arrays: one shared ratio away from 1 is a scale mistake
    assert constant_factor(np.array([2.0, 4.0]), np.array([1.0, 2.0])) == 2.0
    assert constant_factor(np.array([1.0, 3.0]), np.array([1.0, 2.0])) is None  # not shared
    # a single number: only whole factors and their inverses count
    assert constant_factor(np.array(0.5), np.array(1.0)) == 0.5
    assert constant_factor(np.array(1 / 64), np.array(1.0)) == 1 / 64
    assert constant_factor(np.array(210.0), np.array(211.0)) is None  # 0.9953: a miscount
    assert constant_factor(np.array(1.37), np.array(1.0)) is None
    assert constant_factor(np.array(-0.0), np.array(1.0)) is None


def test_compare_says_what_differs_when_it_is_not_a_scale():
    miscount = compare("n", 210, 211).message
    assert "constant factor" not in miscount and "expected 211" in miscount
    zeros = compare("x", np.zeros(3), np.ones(3)).message
    assert "all zeros" in zeros and "constant factor" not in zeros
    assert "constant factor of 2" in compare("x", [2.0, 4.0], [1.0, 2.0]).message


def test_feedback_marks_need_no_emoji_font():
    shown = repr(Feedback(True, "ok")) + repr(Feedback(False, "no"))
    shown += Feedback(False, "no")._repr_markdown_()
    assert all(ord(ch) < 0x2700 or ch in "\u2713\u2717" for ch in shown)


def test_as_number_says_none_or_not_a_number():
    assert as_number("n", "12", "count them.") == 12.0
    none = as_number("n", None, "count them.")
    assert isinstance(none, Feedback) and not none
    assert none.message == "`n` is None: count them."
    assert as_number("n", [1, 2], "x", "a whole number").message == (
        "`n` should be a whole number, got list")


def test_as_tensor_and_call_for_tensor():
    t = as_tensor("f", [1, 2])
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64
    assert as_tensor("f", np.ones(2), torch.float32).dtype == torch.float32
    assert as_tensor("f", None, returns="the output").message == (
        "`f` returned None: did you forget to `return` the output?")
    assert as_tensor("f", "abc", kind="a tensor (T, d)").message == (
        "`f` should return a tensor (T, d), got str")
    assert torch.equal(call_for_tensor("f", lambda x: 2 * x, (torch.ones(2),), "on x"),
                       torch.full((2,), 2.0, dtype=torch.float64))
    failed = call_for_tensor("f", lambda x: 1 / 0, (1,), "on x of shape (1,)")
    assert failed.message == "`f` raised ZeroDivisionError: division by zero on x of shape (1,)"


def test_diagnose_names_the_mistake_and_where():
    expected = torch.tensor([1.0, 2.0])
    mistakes = [(2 * expected, "you doubled it")]
    assert diagnose("f(x)", expected.clone(), expected, mistakes) is None
    assert diagnose("f(x)", 2 * expected, expected, mistakes).message == "you doubled it"
    assert diagnose("f(x)", 2 * expected, expected, mistakes, "for x = 1").message == (
        "for x = 1: you doubled it")
    other = diagnose("f(x)", expected + 5, expected, mistakes, "for x = 1")
    assert other.message.startswith("for x = 1: `f(x)` is not right")
