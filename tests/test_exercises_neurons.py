"""The chapter 1 checkers accept the reference solutions and name typical mistakes."""

import numpy as np

from genai_lib.exercises.neurons import (B1, W1, X1, check_gate, check_neuron_output,
                                         check_perceptron_update, perceptron_update_reference)


def test_neuron_output():
    right = 1 / (1 + np.exp(-(X1 @ W1 + B1)))
    assert check_neuron_output(right)
    assert check_neuron_output(round(float(right), 4))
    assert check_neuron_output(np.array([right]))
    assert not check_neuron_output(None)
    fb = check_neuron_output(float(X1 @ W1 + B1))
    assert not fb and "weighted sum" in fb.message
    fb = check_neuron_output(1 / (1 + np.exp(-(X1 @ W1))))
    assert not fb and "forgot the bias" in fb.message
    fb = check_neuron_output(1 / (1 + np.exp(-(X1 @ W1 - B1))))
    assert not fb and "subtracted the bias" in fb.message
    fb = check_neuron_output(1 / (1 + np.exp(X1 @ W1 + B1)))  # sigmoid(-z)
    assert not fb and "sigmoid(-z)" in fb.message
    fb = check_neuron_output(np.tanh(X1 @ W1 + B1))
    assert not fb and "tanh" in fb.message
    fb = check_neuron_output(0.0)  # step(z) with z = -1
    assert not fb and "step(z)" in fb.message
    fb = check_neuron_output(0.27)
    assert not fb and "rounded" in fb.message
    fb = check_neuron_output(0.9)
    assert not fb and "expected 0.2689" in fb.message
    fb = check_neuron_output(np.array([0.2, 0.3]))
    assert not fb and "one number" in fb.message


def test_gate():
    assert check_gate([-1.0, -1.0], 1.5, "nand")
    assert check_gate([-2.0, -2.0], 3.0, "nand")
    assert check_gate([1.0, 1.0], -1.5, "and")
    assert check_gate([1.0, 1.0], -0.5, "or")
    assert check_gate([-1.0, -1.0], 0.5, "nor")
    fb = check_gate([1.0, 1.0], -1.5, "nand")
    assert not fb and "opposite gate" in fb.message
    fb = check_gate([-1.0, -1.0], 0.5, "nand")
    assert not fb and "wrong on 2 of 4" in fb.message
    fb = check_gate([1.0, 1.0], -0.5, "nand")  # OR instead of NAND
    assert not fb and "wrong on 2 of 4" in fb.message
    fb = check_gate([-1.0, -1.0], 2.0, "nand")  # the line through (1, 1): step(0) = 1
    assert not fb and "step(0) = 1" in fb.message
    fb = check_gate([1.0, 1.0, 1.0], 0.0)
    assert not fb and "shape (2,)" in fb.message
    fb = check_gate([-1.0, -1.0], float("nan"))
    assert not fb and "finite" in fb.message
    assert not check_gate(None, 1.5)


def _predict(w, b, x):
    return 1.0 if x @ w + b >= 0 else 0.0


def test_perceptron_update_accepts_right_answers():
    assert check_perceptron_update(perceptron_update_reference)

    def as_list(w, b, x, y, lr):  # a list instead of a tuple is still a pair
        return list(perceptron_update_reference(w, b, x, y, lr))

    def copies_first(w, b, x, y, lr):  # modifying a copy in place is fine
        new_w = w.copy()
        error = y - _predict(w, b, x)
        new_w += lr * error * x
        return new_w, b + lr * error

    assert check_perceptron_update(as_list)
    assert check_perceptron_update(copies_first)


def test_perceptron_update_names_each_mistake():
    def in_place(w, b, x, y, lr):  # the right numbers, but the caller's w changes
        error = y - _predict(w, b, x)
        w += lr * error * x
        return w, b + lr * error

    def flipped(w, b, x, y, lr):
        error = y - _predict(w, b, x)
        return w - lr * error * x, b - lr * error

    def always(w, b, x, y, lr):  # updates even when the sample is right
        return w + lr * (2 * y - 1) * x, b + lr * (2 * y - 1)

    def no_lr(w, b, x, y, lr):
        error = y - _predict(w, b, x)
        return w + error * x, b + error

    def strict_step(w, b, x, y, lr):  # step(0) = 0 instead of 1
        error = y - (1.0 if x @ w + b > 0 else 0.0)
        return w + lr * error * x, b + lr * error

    def no_bias_in_prediction(w, b, x, y, lr):
        error = y - (1.0 if x @ w >= 0 else 0.0)
        return w + lr * error * x, b + lr * error

    def bias_not_updated(w, b, x, y, lr):
        error = y - _predict(w, b, x)
        return w + lr * error * x, b

    def sigmoid_prediction(w, b, x, y, lr):
        error = y - 1 / (1 + np.exp(-(x @ w + b)))
        return w + lr * error * x, b + lr * error

    def unchanged(w, b, x, y, lr):
        return w, b

    def no_return(w, b, x, y, lr):
        error = y - _predict(w, b, x)
        w + lr * error * x

    cases = [(in_place, "in place"), (flipped, "wrong way"),
             (always, "already classified right"), (no_lr, "learning rate"),
             (strict_step, "step(0) = 1"), (no_bias_in_prediction, "leaves out the bias"),
             (bias_not_updated, "bias did not change"), (sigmoid_prediction, "not the sigmoid"),
             (unchanged, "unchanged"), (no_return, "forget to `return")]
    for fn, words in cases:
        fb = check_perceptron_update(fn)
        assert not fb, fn.__name__
        assert words in fb.message, (fn.__name__, fb.message)
        assert "perceptron_update" in fb.message or "on w =" in fb.message


def test_perceptron_update_bad_values():
    assert not check_perceptron_update(None)
    fb = check_perceptron_update(lambda w, b, x, y, lr: w)
    assert not fb and "pair" in fb.message
    fb = check_perceptron_update(lambda w, b, x, y, lr: (w + 1.0, b))
    assert not fb and "new_w" in fb.message
    fb = check_perceptron_update(lambda w, b, x, y, lr: 1 / 0)
    assert not fb and "ZeroDivisionError" in fb.message
