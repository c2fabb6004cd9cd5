"""Test settings: quick profile, CPU, no progress bars, headless plots."""

import os

os.environ.setdefault("GENAI_PROFILE", "quick")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
