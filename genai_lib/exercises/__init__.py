"""Exercises that check themselves: each `check_*` takes a learner's answer and returns
`Feedback` that says it is right or exactly what is wrong.

The chapter-specific checkers live in submodules named after the topic
(`genai_lib.exercises.neurons`, ...); the diagnosis shared by all of them is here.
"""

from __future__ import annotations

import dis
import inspect
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch loads only when a checker needs it
    import torch


# Marks from the basic text fonts (DejaVu, Liberation, system UI fonts), not emoji: they
# render the same everywhere, with or without an emoji font installed.
PASS, FAIL = "\u2713", "\u2717"  # ✓ and ✗


@dataclass(frozen=True)
class Feedback:
    """The verdict on an answer: `ok` and a message naming the mistake (or confirming)."""

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return (PASS if self.ok else FAIL) + " " + self.message

    def _repr_markdown_(self) -> str:
        return (f"{PASS} **Correct.** " if self.ok else f"{FAIL} **Not yet.** ") + self.message


def right(message: str = "Correct.") -> Feedback:
    """A passing verdict."""
    return Feedback(True, message)


def wrong(message: str) -> Feedback:
    """A failing verdict that says what is wrong."""
    return Feedback(False, message)


def compare(name: str, got, expected, rtol: float = 1e-5, atol: float = 1e-8) -> Feedback:
    """Compare a learner's number/array with the expected one and diagnose the difference:
    missing value, NaN, wrong shape (or transposed), wrong sign, off by a constant factor."""
    if got is None:
        return wrong(f"`{name}` is None: did you forget to `return` it?")
    text = string_instead_of_number(f"`{name}`", got)
    if text is not None:
        return text
    try:
        g = np.asarray(got.detach().cpu() if hasattr(got, "detach") else got, dtype=float)
    except (TypeError, ValueError):
        return wrong(f"`{name}` should be a number or array, got {type(got).__name__}")
    e = np.asarray(expected, dtype=float)
    if g.shape != e.shape:
        hint = " (transposed? try .T)" if g.shape == e.shape[::-1] and g.ndim == 2 else ""
        return wrong(f"`{name}` has shape {g.shape}, expected {e.shape}{hint}")
    if not np.all(np.isfinite(g)):
        return wrong(f"`{name}` contains NaN or inf: look for a division by zero or an overflow "
                     f"(e.g. exp of a large number)")
    if np.allclose(g, e, rtol=rtol, atol=atol):
        return right(f"`{name}` matches the expected value.")
    if np.any(e != 0) and np.allclose(g, -e, rtol=rtol, atol=atol):
        return wrong(f"`{name}` has the wrong sign everywhere: check the direction of the "
                     f"update or the sign of the gradient")
    if np.all(g == 0):
        return wrong(f"`{name}` is all zeros: check that you return the computed value, "
                     f"not a freshly created zero array (or a value multiplied by 0)")
    factor = constant_factor(g, e, atol)
    if factor is not None:
        return wrong(f"`{name}` is off by a constant factor of {factor:.4g}: check a missing "
                     f"or extra scale (a 1/N average, a factor 2, a learning rate)")
    where = np.unravel_index(np.argmax(np.abs(g - e)), e.shape) if e.ndim else ()
    gv, ev = (g[where], e[where]) if e.ndim else (g, e)
    at = f" at index {tuple(int(i) for i in where)}" if e.ndim else ""
    return wrong(f"`{name}` is not right{at}: expected {float(ev):.6g}, your answer = {float(gv):.6g}")


def constant_factor(got: np.ndarray, expected: np.ndarray, atol: float = 1e-8) -> float | None:
    """The factor r with got = r * expected if that is a plausible scale mistake, else None.

    For arrays, r must be the same for every non-zero entry (at least two) and not near 1.
    For a single number every ratio is "constant", so only whole-number factors and their
    inverses (2, 3, 1/N, 10, ...) count: a ratio of 0.9953 or 1.37 is a different mistake."""
    nz = np.abs(expected) > atol
    if not nz.any():
        return None
    ratio = got[nz] / expected[nz]
    r = float(ratio.flat[0])
    if not np.allclose(ratio, r, rtol=1e-3) or abs(r) < 1e-3 or abs(abs(r) - 1) < 0.02:
        return None
    if nz.sum() >= 2:
        return r
    whole = max(abs(r), 1 / abs(r))
    return r if abs(whole - round(whole)) < 1e-3 * whole else None


def check_function(name: str, fn: Callable, reference: Callable, inputs: list,
                   rtol: float = 1e-5, atol: float = 1e-8) -> Feedback:
    """Call a learner's function and the reference on each input; report the first mismatch."""
    if not callable(fn):
        return wrong(f"`{name}` should be a function, got {type(fn).__name__}")
    for args in inputs:
        args = args if isinstance(args, tuple) else (args,)
        try:
            got = fn(*args)
        except Exception as err:  # the learner's code failed: say how, on which input
            return wrong(f"`{name}` raised {type(err).__name__}: {err} on input {args!r}")
        verdict = compare(f"{name}(...)", got, reference(*args), rtol, atol)
        if not verdict.ok:
            return wrong(f"on input {_short(args)}: {verdict.message}")
    return right(f"`{name}` gives the expected output on all {len(inputs)} test inputs.")


def call_for_number(fn: Callable, args: tuple, call: str, returns: str) -> float | Feedback:
    """Call a learner's fn(*args) expecting a number: the float, or a failing Feedback that says
    it returned None (forgot `return`?) or raised. `call` names the call in messages."""
    try:
        got = fn(*args)
        if got is None:
            return wrong(f"{call} returned None: did you forget to `return` {returns}?")
        text = string_instead_of_number(call, got, verb="returned")
        if text is not None:
            return text
        return float(got)
    except Exception as err:  # the learner's code failed: say how, on which input
        return wrong(f"{call} raised {type(err).__name__}: {err}")


def _first_string(value) -> str | None:
    """The first string in `value` (itself, or an entry of a list, tuple or array), or None."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, str):
        return str(value)  # a NumPy str_ too, shown as plain text
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SU":
            return _first_string(value.flat[0]) if value.size else None
        if value.dtype.kind != "O":  # numbers: nothing to look at
            return None
        value = list(value.flat)
    if isinstance(value, (list, tuple)):
        for item in value:
            text = _first_string(item)
            if text is not None:
                return text
    return None


def string_instead_of_number(what: str, value, verb: str = "is",
                             kind: str = "a number") -> Feedback | None:
    """A failing Feedback if `value` is (or holds) a string where a number is expected, else None.

    `what` names the value, e.g. "`n_params`": "`n_params` is the string '64'; give the number
    64 (without quotes)", or for text that is no number "... is the string 'many', not `kind`"
    (e.g. 'a whole number'); with verb="returned" the message is about a function's result. A
    string that looks like a number is not accepted: it only looks right when printed, and
    arithmetic with it fails or goes wrong ('64' * 2 is '6464')."""
    text = _first_string(value)
    if text is None:
        return None
    act = "give" if verb == "is" else "return"
    if isinstance(value, (str, bytes)):
        said = f"{what} {verb} the string {text!r}"
    else:
        said = f"{what} {'holds' if verb == 'is' else verb + ' values with'} the string {text!r}"
    try:
        float(text)
    except ValueError:
        return wrong(f"{said}, not {kind}: {act} {kind} (without quotes)")
    return wrong(f"{said}; {act} the number {text.strip()} (without quotes)")


def as_number(name: str, answer, todo: str, kind: str = "a number") -> float | Feedback:
    """A learner's `answer` as a float, or a failing Feedback: it is None (the message says what
    to do, `todo`) or not a number (it should be `kind`, e.g. 'a whole number')."""
    if answer is None:
        return wrong(f"`{name}` is None: {todo}")
    try:
        return float(answer)
    except (TypeError, ValueError):
        return wrong(f"`{name}` should be {kind}, got {type(answer).__name__}")


def as_tensor(name: str, got, dtype: torch.dtype | None = None, returns: str = "the result",
              kind: str = "a tensor of numbers") -> torch.Tensor | Feedback:
    """What a learner's function `name` returned as a CPU tensor of `dtype` (float64 if None),
    or a failing Feedback: it returned None (forgot to `return` `returns`?) or not `kind`."""
    import torch

    if got is None:
        return wrong(f"`{name}` returned None: did you forget to `return` {returns}?")
    try:
        return torch.as_tensor(got.detach() if isinstance(got, torch.Tensor) else got,
                               dtype=torch.float64 if dtype is None else dtype).cpu()
    except (TypeError, ValueError, RuntimeError):
        return wrong(f"`{name}` should return {kind}, got {type(got).__name__}")


def call_for_tensor(name: str, fn: Callable, args: tuple, on: str,
                    dtype: torch.dtype | None = None) -> torch.Tensor | Feedback:
    """Call a learner's fn(*args) expecting a tensor: `as_tensor` of the result, or a failing
    Feedback that says it raised, on which input (`on`, e.g. 'on betas of shape (3,)')."""
    try:
        got = fn(*args)
    except Exception as err:  # the learner's code failed: say how, on which input
        return wrong(f"`{name}` raised {type(err).__name__}: {err} {on}")
    return as_tensor(name, got, dtype)


def _short(args: tuple) -> str:
    """A short text form of test inputs, for messages."""
    text = ", ".join(np.array2string(np.asarray(a), precision=3, threshold=6) for a in args)
    return text if len(text) < 120 else text[:117] + "..."


RTOL, ATOL = 1e-4, 1e-6  # loose enough for float32 answers, far tighter than any mistake


def missing_function(name: str, fn, signature: str) -> Feedback | None:
    """A failing Feedback if the learner passed no function (None or not callable), else None."""
    if fn is None:
        return wrong(f"`{name}` is None: define a function {signature} and pass it in.")
    if not callable(fn):
        return wrong(f"`{name}` should be a function {signature}, got {type(fn).__name__}")
    return None


def same(a, b, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """Whether two result tensors agree (same shape, equal up to float32 rounding)."""
    import torch

    return a.shape == b.shape and torch.allclose(a, b, rtol=rtol, atol=atol)


def diagnose(call: str, got, expected, mistakes, where: str = "") -> Feedback | None:
    """A failing Feedback naming the first typical mistake (candidate, message) that `got`
    matches (only candidates that differ from the right answer count), else compare's
    diagnosis; None if right. A `where` (e.g. 'for x of shape (5, 3)') starts the message."""
    for candidate, message in mistakes:
        distinct = not same(candidate, expected, rtol=1e-3, atol=1e-5)
        if distinct and same(got, candidate):
            return wrong(f"{where}: {message}" if where else message)
    verdict = compare(call, got, expected, rtol=RTOL, atol=ATOL)
    if verdict.ok:
        return None
    return wrong(f"{where}: {verdict.message}") if where else verdict


# Packages whose routines an exercise may ask the learner to write instead of calling.
LIBRARIES = ("genai_lib", "scipy", "torch", "jax", "tensorflow", "keras", "sklearn", "librosa",
             "pretty_midi", "pandas", "numpy")


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    """A code object and the code objects nested in it (inner functions, lambdas)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _library_name(obj, home: str | None, modules: tuple[str, ...],
                  names: frozenset[str]) -> str | None:
    """'package.routine' if obj (a module, function, class or callable) is one of the library
    routines: from a package in `modules`, or named in `names` and not the learner's (`home`)."""
    if inspect.ismodule(obj):
        return obj.__name__ if obj.__name__.split(".")[0] in modules else None
    if not callable(obj):
        return None
    name = getattr(obj, "__name__", None) or type(obj).__name__
    module = getattr(obj, "__module__", None) or type(obj).__module__ or ""
    if module == home:
        return None
    top = module.split(".")[0]
    if top in modules or (name in names and top in (*LIBRARIES, "builtins")):
        public = ".".join(part for part in module.split(".") if not part.startswith("_"))
        return f"{public}.{name}" if top != "builtins" else name
    return None


def library_call(fn: Callable, modules: tuple[str, ...] = (),
                 names: frozenset[str] | set[str] = frozenset(), depth: int = 0) -> str | None:
    """How `fn` reaches a library routine that the exercise asks the learner to write (e.g.
    'scipy.special.logsumexp', '.logsumexp', 'sklearn.metrics'), or None.

    Reads the names fn's code loads: a global or closure variable bound to a module, function or
    class of a package in `modules` (such as `from sklearn.metrics import recall_score`) or to a
    library routine named in `names`; an attribute named in `names` (`torch.logsumexp`,
    `t.logsumexp(1)`); an `import` of one of them inside fn. Functions of the learner's that fn
    calls are read too, two levels deep."""
    names = frozenset(names)
    home = getattr(fn, "__module__", None)
    if depth == 0:
        top = str(home or "").split(".")[0]
        if top in modules or (getattr(fn, "__name__", None) in names and top in LIBRARIES):
            return f"{home}.{getattr(fn, '__name__', '')}"  # the library's routine itself
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    scope = dict(getattr(fn, "__globals__", {}))
    for var, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or ()):
        try:
            scope[var] = cell.cell_contents
        except ValueError:  # an empty cell: the variable is not assigned yet
            pass
    for inner in _code_objects(code):
        instructions = list(dis.get_instructions(inner))
        for i, ins in enumerate(instructions):
            arg = ins.argval
            if not isinstance(arg, str):
                continue
            if ins.opname == "IMPORT_NAME" and arg.split(".")[0] in modules:
                after = instructions[i + 1] if i + 1 < len(instructions) else None
                named = after is not None and after.opname == "IMPORT_FROM"
                return f"{arg}.{after.argval}" if named else arg
            if ins.opname in ("LOAD_ATTR", "LOAD_METHOD", "IMPORT_FROM") and arg in names:
                return "." + arg
            if ins.opname not in ("LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF"):
                continue
            obj = scope.get(arg)
            if obj is None or obj is fn:
                continue
            if isinstance(obj, types.FunctionType) and obj.__module__ == home:
                found = library_call(obj, modules, names, depth + 1) if depth < 2 else None
                if found:
                    return found
                continue
            found = _library_name(obj, home, modules, names)
            if found:
                after = instructions[i + 1] if i + 1 < len(instructions) else None
                if (inspect.ismodule(obj) and after is not None
                        and after.opname in ("LOAD_ATTR", "LOAD_METHOD")):
                    return f"{found}.{after.argval}"
                return found
    return None


def library_used(name: str, fn: Callable, how: str, modules: tuple[str, ...] = (),
                 names: frozenset[str] | set[str] = frozenset()) -> Feedback | None:
    """A failing Feedback if the learner's function `name` calls a library routine that the
    exercise asks them to write (see `library_call`); `how` says what to write it from."""
    used = library_call(fn, modules, names)
    if used is None:
        return None
    return wrong(f"`{name}` calls the library routine `{used.lstrip('.')}`: the exercise asks "
                 f"you to write it yourself ({how}).")
