"""Train one of the book's recipes and write samples: the command line of `genai_lib.recipes`.

    python -m genai_lib.generate RECIPE --samples N --out FILE.npy [--labels FILE.npy]
                                 [--seed S] [--profile quick|full]

Samples are written as a float32 array (N, D), pixels in [0, 1], one row per sample; for a
conditional recipe, --labels receives the requested (balanced) labels (N,). The melody recipe
(chorales-transformer) writes an int array (N, 32) of MIDI pitches (-1 a rest), or with
--out FILE.mid a MIDI file that plays the N melodies one after another. The text recipes
(words-transformer, prose-transformer) write an int array (N, T) of tokens, or with
--out FILE.txt one generated word, or one passage, per line (UTF-8; a line break inside a
passage is written as the two characters \\n). GENAI_DEVICE picks the device, as everywhere
in the book; --profile defaults to $GENAI_PROFILE (else full).

Nothing lost, nothing misleading: every path is checked before training (a folder, a missing
folder, --out equal to --labels: a clear error, no training), and so is the memory the
samples need; samples and labels are written as one unit (`files.write_together`: both
temporary files first, then both renamed), so the old pair stays whole if anything fails,
and a kill never leaves new samples beside old labels. A model that draws NaN writes nothing.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from genai_lib import checks, files, quality, recipes, runtime, sound
from genai_lib.files import atomic_write

KINDS = {".npy": "written with numpy.save", ".mid": "a MIDI file", ".txt": "one sample per line"}


def _writable(path: str, flag: str, suffixes: tuple[str, ...] = (".npy",)) -> Path:
    """A path ending in one of `suffixes` whose folder exists and can be written, and which
    is not a folder itself."""
    p = Path(path)
    if p.suffix not in suffixes:
        raise ValueError(f"{flag} {path!r} must end in {' or '.join(suffixes)} ("
                         + ", ".join(f"{k}: {KINDS[k]}" for k in suffixes) + ")")
    folder = p.parent.resolve()
    if not folder.is_dir():
        raise ValueError(f"{flag} {path!r}: the folder {str(folder)!r} does not exist; create it first")
    if p.is_dir():
        raise ValueError(f"{flag} {path!r} is a folder: give a file name inside it, e.g. "
                         f"{str(p / ('samples' + suffixes[0]))!r}")
    if not os.access(folder, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise ValueError(f"{flag} {path!r} cannot be written (no permission): choose another path")
    return p


def output_paths(out: str, labels: str | None, suffixes: tuple[str, ...]
                 ) -> tuple[Path, Path | None]:
    """The checked --out and --labels paths (before any training): each writable, not a
    folder, and not the same file."""
    out_path = _writable(out, "--out", suffixes)
    if labels is None:
        return out_path, None
    label_path = _writable(labels, "--labels")
    if out_path.resolve() == label_path.resolve():
        raise ValueError(f"--out and --labels are the same file {out!r}: the labels would "
                         f"replace the samples; give the labels their own file, e.g. "
                         f"{str(out_path.with_name(out_path.stem + '-labels.npy'))!r}")
    return out_path, label_path


def save_npy(path: Path, array: np.ndarray) -> None:
    """Write array to path with numpy.save, atomically (`files.atomic_write`)."""
    atomic_write(path, lambda f: np.save(f, array))


def _npy(array: np.ndarray) -> files.Writer:
    return lambda f: np.save(f, array)


def available_memory() -> int | None:
    """Bytes of memory this process can still take: the system's 'available' estimate
    (Linux), else its free pages, else its total memory (an upper bound, macOS); None where
    none can be read (Windows)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    for pages in ("SC_AVPHYS_PAGES", "SC_PHYS_PAGES"):
        try:
            return os.sysconf(pages) * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            continue
    return None


def bytes_per_sample(r: recipes.Recipe) -> int:
    """A rough estimate of the memory drawing one sample of recipe `r` takes, in bytes: the
    sample (float32 pixels, int64 tokens), the sampler's copies of it, and the network's
    widest activations (all rows go through the network at once). Measured peaks were
    within a factor of 3 of it for every family (untrained models, on the CPU)."""
    s = r.settings
    s = getattr(s, "inner", s)
    data = recipes.DATASETS[r.dataset]
    dim = data.dim
    if isinstance(s, recipes.TransformerSettings):  # keys and values of every block, logits
        return 8 * dim + 4 * dim * s.dim * (2 * s.layers + 4) + 4 * 2 * data.vocab
    width = getattr(s, "hidden", 0)
    network = getattr(s, "network", "mlp")
    if network != "mlp":  # conv nets: channels at every pixel (a U-Net keeps ~5 such maps)
        width *= dim * (5 if network == "unet" else 1)
    out = 784 if r.family == "latent" else dim
    return 4 * (4 * out + 3 * width)


def check_memory(r: recipes.Recipe, n: int) -> None:
    """Refuse, before training, a number of samples whose drawing cannot fit in memory."""
    need = n * bytes_per_sample(r)
    free = available_memory()
    if free is None or need <= free:
        return
    most = max(1, free // bytes_per_sample(r))
    raise ValueError(f"--samples {n} would need about {_size(need)} of memory to draw (all "
                     f"at once), and {_size(free)} is available: ask for at most about "
                     f"{_round_down(most)} samples, and run again with another --seed for more")


def _size(n: float) -> str:
    """Bytes in words: 1.5 GB, 820 MB."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 1e3:.0f} kB"


def _round_down(n: int) -> int:
    """n rounded down to two significant digits: 12345 -> 12000."""
    digits = max(0, int(math.log10(n)) - 1)
    return n // 10 ** digits * 10 ** digits


def _samples_writer(out_path: Path, x: np.ndarray, tokens: bool,
                    as_text: Callable | None) -> files.Writer:
    """How the samples go into `out_path`: MIDI, text (one per line) or numpy.save."""
    if out_path.suffix == ".mid":
        midi = sound.midi_bytes(x)
        return lambda f: f.write(midi)
    if out_path.suffix == ".txt":
        text = "".join(line.replace("\n", "\\n") + "\n" for line in as_text(torch.as_tensor(x)))
        data = text.encode("utf-8")
        return lambda f: f.write(data)
    return _npy(x.astype(np.int64 if tokens else np.float32))


def generate(name: str, samples: int, out: str, labels: str | None = None, seed: int = 0,
             profile: str | None = None, quiet: bool = False) -> str:
    """Train recipe `name`, write `samples` rows to `out` (and labels); returns a summary line.

    Every input is checked before training. The samples and the labels are written as one
    unit (`files.write_together`): both land, or neither (the old files stay)."""
    r = recipes.recipe(name)  # unknown names fail here, before any training
    checks.positive_int("--samples", samples)
    profile = profile if profile is not None else runtime.profile()  # $GENAI_PROFILE
    if profile not in runtime.PROFILES:
        raise ValueError(f"--profile must be one of {runtime.PROFILES}, got {profile!r}")
    if labels is not None and not r.conditional:
        raise ValueError(f"{name} is unconditional: --labels is only for the conditional "
                         f"recipes ({', '.join(n for n, x in recipes.RECIPES.items() if x.conditional)})")
    melodies = r.dataset == "chorales"
    as_text = recipes.DATASETS[r.dataset].text
    suffixes = (".npy", ".mid") if melodies else (".npy", ".txt") if as_text else (".npy",)
    out_path, label_path = output_paths(out, labels, suffixes)
    check_memory(r, samples)
    device = runtime.device()
    trained = recipes.train_recipe(name, profile=profile, device=device, seed=seed, quiet=quiet)
    requested = quality.balanced_labels(samples, seed=seed) if r.conditional else None
    x = trained.sample(samples, labels=requested, seed=seed).numpy()
    if not np.isfinite(x).all():
        raise RuntimeError(f"{name} drew {int((~np.isfinite(x).any(1)).sum())} of {samples} "
                           f"samples with NaN or inf values, so nothing was written: the "
                           f"trained model is broken; train it again with another --seed")
    writes = [(out_path, _samples_writer(out_path, x, melodies or bool(as_text), as_text))]
    if label_path is not None:
        writes.append((label_path, _npy(requested.numpy())))
    files.write_together(writes)
    epochs = len(next(iter(trained.history.values()), []))
    return (f"{name}: trained {epochs} epochs ({profile} profile) in "
            f"{trained.seconds:.1f} s on {device.type}; wrote {samples} "
            + (f"melodies of {x.shape[1]} steps" if melodies else
               ("words" if r.dataset == "words" else "passages")
               if out_path.suffix == ".txt" else
               f"sequences of {x.shape[1]} tokens" if as_text else
               f"samples of {x.shape[1]} pixels")
            + f" to {out}" + (f" and their labels to {labels}" if labels else ""))


class _Formatter(argparse.HelpFormatter):
    """Help wrapped between words only, so a recipe name keeps its hyphens on one line."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line on stderr: 'warning: ...' (the cache's: see genai_lib.cache)."""
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """The command line: parse, run, print one summary line (or one error line, exit code 2)."""
    parser = argparse.ArgumentParser(prog="python -m genai_lib.generate",
                                     description="Train a recipe of the book and write samples.",
                                     formatter_class=_Formatter)
    parser.add_argument("recipe", help="one of: " + ", ".join(recipes.RECIPES))
    parser.add_argument("--samples", type=int, required=True, help="number of samples N")
    parser.add_argument("--out", required=True,
                        help="output file: .npy (N, D) float32 (tokens: int64); .mid for "
                             "chorales-transformer; .txt for the text recipes, one per line")
    parser.add_argument("--labels", help="conditional recipes: write the requested labels here")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the training run and of the samples (default 0)")
    parser.add_argument("--profile", choices=runtime.PROFILES, default=None,
                        help="training length: full (as the book) or quick; default: "
                             "$GENAI_PROFILE, else full")
    args = parser.parse_args(argv)
    try:
        runtime.cpu_threads()  # $GENAI_THREADS
        with warnings.catch_warnings():  # the cache's warnings as one line each
            warnings.showwarning = _warning_line
            print(generate(args.recipe, args.samples, args.out, args.labels, args.seed,
                           args.profile))
    except (KeyError, ValueError, RuntimeError, ArithmeticError, ModuleNotFoundError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"error: {message}", file=sys.stderr)
        return 2
    except OSError as err:  # the disk filled up, the folder went away ...: nothing half-written
        print(f"error: could not write the output ({err}); the old files are as they were",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
