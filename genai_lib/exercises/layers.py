"""Checkers for chapter 2 (layers): counting an MLP's parameters, a stable softmax,
hand-set weights for a ReLU network that computes |x|."""

from __future__ import annotations

import dis
import types
from collections.abc import Callable
from itertools import combinations

import numpy as np

from genai_lib.exercises import (Feedback, as_number, check_function, compare, library_call,
                                 missing_function, right, string_instead_of_number, wrong)
from genai_lib.scratch.layers import mlp_forward, softmax
from genai_lib.scratch.neuron import relu

SIZES = [2, 16, 8, 3]  # Exercise 1: the MLP whose parameters are counted


def _layer_names(layers) -> str:
    """'2→16 and 16→8' for a list of (n_in, n_out) pairs."""
    names = [f"{a}→{b}" for a, b in layers]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def check_param_count(n: int | None) -> Feedback:
    """Exercise 1: the number of weights and biases of an MLP with layer widths SIZES.

    A wrong count is matched against the typical miscounts (weights only, biases per input,
    biases for the input layer, one bias per layer, neurons instead of connections, a layer
    left out, n_in + n_out instead of n_in x n_out) and the message names the one it is;
    it never gives the right total away."""
    text = string_instead_of_number("`n_params`", n, kind="a whole number")
    if text is not None:
        return text
    n_float = as_number("n_params", n, "add up the weights and biases of every layer.",
                        "a whole number")
    if isinstance(n_float, Feedback):
        return n_float
    if n_float != round(n_float):
        return wrong(f"`n_params` = {n_float:g} is not a whole number: a network has a whole "
                     f"number of weights and biases.")
    n = int(round(n_float))
    layers = list(zip(SIZES[:-1], SIZES[1:]))
    per_layer = [a * b + b for a, b in layers]
    weights = sum(a * b for a, b in layers)
    biases = sum(b for _, b in layers)
    if n == weights + biases:
        return right(f"{weights} weights + {biases} biases = {weights + biases} parameters.")
    how = (" Count each layer as n_in x n_out weights (one per connection) plus n_out biases "
           "(one per unit), for the layers " + _layer_names(layers) + ".")
    if n == weights:
        return wrong(f"{n} counts the weights only: every unit (neuron) of the hidden and "
                     f"output layers also has a bias.")
    if n == weights + sum(a for a, _ in layers):
        return wrong(f"{n} gives each layer n_in biases, one per input: a bias belongs to a "
                     f"unit, so a layer has n_out biases (16, 8 and 3 here).")
    if n == weights + sum(SIZES):
        return wrong(f"{n} gives the input layer biases too: the input layer has no units, "
                     f"it only holds the data, so it has no parameters.")
    if n == weights + len(layers):
        return wrong(f"{n} counts one bias per layer: every unit has its own bias, so a layer "
                     f"has n_out biases.")
    if n in (sum(SIZES), sum(SIZES[1:])):
        return wrong(f"{n} counts the neurons, not the parameters." + how)
    if n == sum(a + b for a, b in layers) + biases or n == sum(a + b for a, b in layers):
        return wrong(f"{n} adds n_in + n_out per layer: a dense layer connects every input to "
                     f"every unit, so it has n_in x n_out weights.")
    for k in range(1, len(layers)):
        for kept in combinations(range(len(layers)), k):
            if n == sum(per_layer[i] for i in kept):
                left = [layers[i] for i in range(len(layers)) if i not in kept]
                return wrong(f"{n} leaves out the layer{'s' if len(left) > 1 else ''} "
                             f"{_layer_names(left)}: an MLP with widths {SIZES} has "
                             f"{len(layers)} layers with parameters, one between each pair of "
                             f"neighbouring widths.")
    if n == 2 * (weights + biases):
        return wrong(f"{n} is twice the number of parameters: did you count each connection "
                     f"from both of its ends?")
    side = "too many" if n > weights + biases else "too few"
    return wrong(f"{n} is {side}." + how)


# ---------------------------------------------------------------------------------------
# Exercise 2: a softmax written by the learner

_SOFTMAX_SMALL = [np.array([[0.5, -1.0], [2.0, 2.0], [-3.0, 0.0]]),  # (3, 2): N != K
                  np.array([[1.0, 2.0, 3.0]])]
_SOFTMAX_BIG = np.array([[1000.0, 1001.0, 999.0]])          # exp(1000) overflows
_SOFTMAX_SPREAD = np.array([[0.0, 800.0, -800.0]])           # z - min or z - mean overflows
_SOFTMAX_MIXED = np.array([[1000.0, 1001.0, 999.0],          # z - z.max() (of the matrix)
                           [-1000.0, -1002.0, -1001.0]])     # underflows row 2 to 0 / 0

_SOFTMAX_NAMES = {"softmax", "log_softmax", "Softmax", "LogSoftmax", "special_softmax"}
# A library log-sum-exp gives the softmax in one line, exp(z - logsumexp(z)): not written either.
_LOGSUMEXP_NAMES = {"logsumexp", "special_logsumexp", "logaddexp", "LogSumExp"}
_LIBRARIES = ("genai_lib", "scipy", "torch", "jax", "tensorflow", "keras", "sklearn")


def _is_library_softmax(obj, home: str | None) -> bool:
    """Whether obj is a softmax function (or softmax layer) from a library, not the learner's."""
    name = getattr(obj, "__name__", None) or type(obj).__name__
    if name not in _SOFTMAX_NAMES:
        return False
    module = getattr(obj, "__module__", None) or type(obj).__module__ or ""
    return module != home or module.split(".")[0] in _LIBRARIES


def _codes(code: types.CodeType):
    """A code object and the code objects nested in it (inner functions, lambdas)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def library_softmax_call(fn: Callable, depth: int = 0) -> str | None:
    """How `fn` reaches a library's softmax (e.g. 'torch.softmax', 'softmax'), or None.

    Reads the names fn's code loads: a global bound to a library softmax (such as
    `from scipy.special import softmax`), or an attribute called softmax (`torch.softmax`,
    `F.softmax`, `t.softmax(dim=1)`). Functions of the learner's that fn calls are read
    too, two levels deep."""
    home = getattr(fn, "__module__", None)
    name = getattr(fn, "__name__", None) or type(fn).__name__
    library = str(home or "builtins").split(".")[0] in (*_LIBRARIES, "builtins")
    if depth == 0 and name in _SOFTMAX_NAMES and library:  # the library's function itself
        return name
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    scope = dict(getattr(fn, "__globals__", {}))
    closure = getattr(fn, "__closure__", None) or ()
    for var, cell in zip(code.co_freevars, closure):
        try:
            scope[var] = cell.cell_contents
        except ValueError:  # an empty cell: the variable is not assigned yet
            pass
    for inner in _codes(code):
        for ins in dis.get_instructions(inner):
            if not isinstance(ins.argval, str):
                continue
            if ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and ins.argval in _SOFTMAX_NAMES:
                return "." + ins.argval
            if ins.opname not in ("LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF"):
                continue
            obj = scope.get(ins.argval)
            if obj is None or obj is fn:
                continue
            if _is_library_softmax(obj, home):
                return ins.argval
            if (isinstance(obj, types.FunctionType) and obj.__module__ == home
                    and depth < 2):
                found = library_softmax_call(obj, depth + 1)
                if found:
                    return found
    return None


def _reference(z):
    """The softmax of a copy (the learner's function may have changed its input in place)."""
    return softmax(np.array(z, dtype=float))


def _softmax_mistakes(z: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """(what the typical mistake returns for z, the message that names it)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    e_col = np.exp(z - z.max(axis=0, keepdims=True))
    return [
        (np.exp(z), "`my_softmax` returns exp(z) without normalising: divide each row by its "
                    "sum, e / e.sum(axis=1, keepdims=True)."),
        (e / e.sum(), "`my_softmax` divides by the sum of the whole matrix, so only all the "
                      "entries together sum to 1: divide each row by its own sum, "
                      "e.sum(axis=1, keepdims=True)."),
        (e_col / e_col.sum(axis=1, keepdims=True),
         "`my_softmax` subtracts each column's maximum (axis=0): the shift must be the same "
         "for the whole row to cancel, so subtract z.max(axis=1, keepdims=True)."),
        (z / z.sum(axis=1, keepdims=True), "`my_softmax` divides z by its row sums: "
                                           "exponentiate first, then normalise."),
        (np.log(e / e.sum(axis=1, keepdims=True)),
         "`my_softmax` returns the logarithm of the softmax (a log-softmax): return the "
         "probabilities themselves."),
    ]


def _call(fn: Callable, z: np.ndarray):
    """fn(copy of z) as a float array, and a failing Feedback (or None) naming what went wrong."""
    arg = np.array(z, dtype=float)
    try:
        with np.errstate(all="ignore"):  # overflow is diagnosed from the result
            got = fn(arg)
    except ValueError as err:
        if "broadcast" in str(err):
            return None, wrong(f"`my_softmax` raised ValueError: {err}. The row maximum and "
                               f"the row sums have shape (N,) unless you keep the axis: use "
                               f"keepdims=True so they are (N, 1) and broadcast over each row.")
        return None, wrong(f"`my_softmax` raised ValueError: {err}")
    except Exception as err:  # the learner's code failed: say how
        return None, wrong(f"`my_softmax` raised {type(err).__name__}: {err}")
    if got is None:
        return None, wrong("`my_softmax(z)` returned None: did you forget to `return` the "
                           "result?")
    if not np.array_equal(arg, z):
        return None, wrong("`my_softmax` changed its input z in place (e.g. `z -= ...`): "
                           "the caller's scores are lost. Compute `z - z.max(...)` into a new "
                           "array instead.")
    try:
        got = np.asarray(got.detach() if hasattr(got, "detach") else got, dtype=float)
    except (TypeError, ValueError):
        return None, wrong(f"`my_softmax` should return an array, got {type(got).__name__}")
    if got.shape != z.shape:
        return None, compare("my_softmax(z)", got, _reference(z))
    return got, None


def check_softmax(fn: Callable) -> Feedback:
    """Exercise 2: fn(z) -> row-wise softmax, z: (N, K) -> (N, K), stable for large |z|,
    written with NumPy rather than by calling a library's softmax."""
    missing = missing_function("my_softmax", fn, "my_softmax(z)")
    if missing is not None:
        return missing
    used = library_softmax_call(fn) or library_call(fn, names=_SOFTMAX_NAMES | _LOGSUMEXP_NAMES)
    if used:
        routine = used.lstrip(".")
        what = ("a library log-sum-exp" if routine.split(".")[-1] in _LOGSUMEXP_NAMES
                else "a library softmax")
        return wrong(f"`my_softmax` calls {what} (`{routine}`): the exercise asks you to write "
                     f"it yourself, from np.exp, a maximum and a sum.")
    for z in _SOFTMAX_SMALL:
        got, failed = _call(fn, z)
        if failed is not None:
            return failed
        expected = _reference(z)
        if np.allclose(got, expected, rtol=1e-5, atol=1e-8):
            continue
        if np.allclose(got.sum(axis=0), 1.0) and not np.allclose(got.sum(axis=1), 1.0):
            return wrong("your columns sum to 1, not your rows: normalise over axis=1 "
                         "(each row is one sample's K scores).")
        for candidate, message in _softmax_mistakes(z):
            distinct = not np.allclose(candidate, expected, rtol=1e-3, atol=1e-5)
            if distinct and np.allclose(got, candidate, rtol=1e-5, atol=1e-8):
                return wrong(message)
        sums = got.sum(axis=1)
        if not np.allclose(sums, 1.0):
            return wrong(f"the rows of `my_softmax(z)` sum to "
                         f"{np.array2string(sums, precision=3)}, not 1: divide the "
                         f"exponentials by their own row sums.")
        return check_function("my_softmax", lambda _: got, _reference, [z])
    overflows = (
        (_SOFTMAX_BIG, "correct for small scores but NaN or inf for z = [[1000, 1001, 999]]: "
                       "exp(1000) overflows. Subtract each row's maximum before exp()."),
        (_SOFTMAX_SPREAD, "NaN or inf for z = [[0, 800, -800]]: after your shift exp() still "
                          "sees a large positive number and overflows. Subtract the row "
                          "*maximum* (not the minimum or the mean): then the largest "
                          "exponent is exp(0) = 1."),
        (_SOFTMAX_MIXED, "NaN for z = [[1000, 1001, 999], [-1000, -1002, -1001]]: z.max() "
                         "without an axis is the maximum of the whole matrix, so the second "
                         "row becomes exp(-2001) = 0 everywhere and 0 / 0 = NaN. Subtract "
                         "each row's own maximum, z.max(axis=1, keepdims=True)."),
    )
    for z, message in overflows:
        got, failed = _call(fn, z)
        if failed is not None:
            return failed
        if not np.all(np.isfinite(got)):
            return wrong(message)
    for z in (_SOFTMAX_BIG, _SOFTMAX_SPREAD, _SOFTMAX_MIXED):
        got, failed = _call(fn, z)
        verdict = failed or check_function("my_softmax", lambda _: got, _reference, [z])
        if not verdict.ok:
            return verdict
    return right("`my_softmax` matches the softmax on every test input, large logits included.")


# ---------------------------------------------------------------------------------------
# Exercise 3: |x| from two ReLUs

def check_abs_network(params) -> Feedback:
    """Exercise 3: params [(W1 (1, 2), b1 (2,)), (W2 (2, 1), b2 (1,))] with relu(...) = |x|."""
    if params is None:
        return wrong("`params` is None: give [(W1, b1), (W2, b2)].")
    try:
        (W1, b1), (W2, b2) = [(np.asarray(W, dtype=float), np.asarray(b, dtype=float))
                              for W, b in params]
    except (TypeError, ValueError):
        return wrong("`params` should be a list of two (W, b) pairs: [(W1, b1), (W2, b2)].")
    expected = {"W1": (1, 2), "b1": (2,), "W2": (2, 1), "b2": (1,)}
    for name, arr in zip(expected, (W1, b1, W2, b2)):
        if arr.shape != expected[name]:
            hint = " (transposed? try .T)" if arr.shape == expected[name][::-1] else ""
            return wrong(f"`{name}` should have shape {expected[name]}, got {arr.shape}{hint}")
    x = np.linspace(-3, 3, 13)
    got = mlp_forward([(W1, b1), (W2, b2)], x[:, None], activation=relu)[:, 0]
    target = np.abs(x)
    if np.allclose(got, target):
        return right("relu(x) + relu(-x) = |x|: two hidden units, one for each side of the kink.")
    if np.allclose(got, x):
        return wrong("your network computes x: relu(x) - relu(-x) = x. Add the two ramps "
                     "(both output weights +1) instead of subtracting one.")
    if np.allclose(got, -x):
        return wrong("your network computes -x: relu(-x) - relu(x) = -x. Add the two ramps "
                     "(both output weights +1) instead of subtracting one.")
    if np.allclose(got, relu(x)):
        return wrong("your network computes relu(x): it is right for x > 0 but 0 for x < 0. "
                     "The second hidden unit should see -x.")
    if np.allclose(got, relu(-x)):
        return wrong("your network computes relu(-x): it is right for x < 0 but 0 for x > 0. "
                     "The other hidden unit should see +x.")
    if np.allclose(got, -target):
        return wrong("your network computes -|x|: flip the signs of the output weights W2.")
    offset = got - target
    if np.allclose(offset, offset[0]):
        return wrong(f"your network computes |x| + {offset[0]:.4g}: the shape is right, but a "
                     f"bias shifts it; b2 (and b1) should be 0.")
    factor = got[0] / target[0]
    if np.allclose(got, factor * target):
        return wrong(f"your network computes {factor:.4g}|x|: the output weights W2 (and the "
                     f"input weights W1) should all have size 1.")
    i = int(np.argmax(np.abs(got - target)))
    return wrong(f"at x = {x[i]:g} the network gives {got[i]:.4g}, but |x| = {target[i]:g}.")
