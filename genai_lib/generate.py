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
in the book.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import torch

from genai_lib import checks, quality, recipes, runtime, sound
from genai_lib.files import atomic_write


def _writable(path: str, flag: str, suffixes: tuple[str, ...] = (".npy",)) -> Path:
    """A path ending in one of `suffixes` whose folder exists and can be written."""
    p = Path(path)
    if p.suffix not in suffixes:
        kinds = {".npy": "written with numpy.save", ".mid": "a MIDI file",
                 ".txt": "one sample per line"}
        raise ValueError(f"{flag} {path!r} must end in {' or '.join(suffixes)} ("
                         + ", ".join(f"{k}: {kinds[k]}" for k in suffixes) + ")")
    folder = p.parent.resolve()
    if not folder.is_dir():
        raise ValueError(f"{flag} {path!r}: the folder {str(folder)!r} does not exist; create it first")
    if not os.access(folder, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise ValueError(f"{flag} {path!r} cannot be written (no permission): choose another path")
    return p


def save_npy(path: Path, array: np.ndarray) -> None:
    """Write array to path with numpy.save, atomically (`files.atomic_write`)."""
    atomic_write(path, lambda f: np.save(f, array))


def generate(name: str, samples: int, out: str, labels: str | None = None, seed: int = 0,
             profile: str | None = None, quiet: bool = False) -> str:
    """Train recipe `name`, write `samples` rows to `out` (and labels); returns a summary line."""
    r = recipes.recipe(name)  # unknown names fail here, before any training
    checks.positive_int("--samples", samples)
    if labels is not None and not r.conditional:
        raise ValueError(f"{name} is unconditional: --labels is only for the conditional "
                         f"recipes ({', '.join(n for n, x in recipes.RECIPES.items() if x.conditional)})")
    melodies = r.dataset == "chorales"
    as_text = recipes.DATASETS[r.dataset].text
    suffixes = (".npy", ".mid") if melodies else (".npy", ".txt") if as_text else (".npy",)
    out_path = _writable(out, "--out", suffixes)
    label_path = _writable(labels, "--labels") if labels is not None else None
    device = runtime.device()
    trained = recipes.train_recipe(name, profile=profile, device=device, seed=seed, quiet=quiet)
    requested = quality.balanced_labels(samples, seed=seed) if r.conditional else None
    x = trained.sample(samples, labels=requested, seed=seed).numpy()
    if out_path.suffix == ".mid":
        sound.write_midi(x, out_path)
    elif out_path.suffix == ".txt":
        lines = "".join(line.replace("\n", "\\n") + "\n"
                        for line in as_text(torch.as_tensor(x)))
        atomic_write(out_path, lambda f: f.write(lines.encode("utf-8")))
    else:
        save_npy(out_path, x.astype(np.int64 if melodies or as_text else np.float32))
    if label_path is not None:
        save_npy(label_path, requested.numpy())
    epochs = len(next(iter(trained.history.values()), []))
    return (f"{name}: trained {epochs} epochs ({profile or runtime.profile()} profile) in "
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
    parser.add_argument("--profile", choices=runtime.PROFILES, default="full",
                        help="training length: full (as the book, default) or quick")
    args = parser.parse_args(argv)
    runtime.cpu_threads()
    try:
        print(generate(args.recipe, args.samples, args.out, args.labels, args.seed, args.profile))
    except (KeyError, ValueError, RuntimeError, ModuleNotFoundError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
