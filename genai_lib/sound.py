"""Sound from numbers: the frequency of a MIDI pitch, additive synthesis of a melody into audio
that `IPython.display.Audio` plays, and melodies written as a MIDI file (music21)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from genai_lib.files import atomic_write
from genai_lib.music import as_melodies, notes


def midi_to_hz(pitch: np.ndarray | float) -> np.ndarray:
    """Equal temperament, A4 = MIDI 69 = 440 Hz: f = 440 * 2^((p - 69) / 12)."""
    return 440.0 * 2.0 ** ((np.asarray(pitch, dtype=float) - 69) / 12)


def synthesize(melody: np.ndarray, rate: int = 16000, bpm: float = 90.0,
               steps_per_quarter: int = 2, harmonics: Sequence[float] = (1.0, 0.5, 0.25, 0.12),
               attack: float = 0.01, release: float = 0.08) -> np.ndarray:
    """Additive synthesis of a melody (T,) -> audio (samples,) float32 in [-1, 1]: each note is a
    sum of harmonics k*f with amplitudes `harmonics`, shaped by an attack-decay-release envelope."""
    if rate < 2000 or bpm <= 0:
        raise ValueError(f"need rate >= 2000 Hz and bpm > 0, got rate={rate}, bpm={bpm}")
    step = 60.0 / bpm / steps_per_quarter  # seconds per step
    m = np.asarray(melody).reshape(-1)
    audio = np.zeros(int(np.ceil((len(m) * step + release) * rate)) + 1)
    for pitch, start, n in notes(m):
        dur = n * step
        t = np.arange(int((dur + release) * rate)) / rate
        f0 = float(midi_to_hz(pitch))
        tone = sum(a * np.sin(2 * np.pi * k * f0 * t)
                   for k, a in enumerate(harmonics, 1) if k * f0 < rate / 2)  # no aliasing
        env = np.minimum(t / attack, 1.0) * np.exp(-1.5 * t)  # fast attack, slow decay
        env *= np.clip((dur + release - t) / release, 0.0, 1.0)  # release after the note ends
        i = int(start * step * rate)
        audio[i:i + len(t)] += tone * env
    peak = np.abs(audio).max()
    return (audio / peak * 0.9 if peak > 0 else audio).astype(np.float32)


def write_midi(melodies: np.ndarray, path: str | Path, steps_per_quarter: int = 2,
               bpm: float = 90.0) -> None:
    """Write melodies (N, T) one after another, a bar of rest between them, as a MIDI file
    (music21), atomically (`files.atomic_write`)."""
    midi = midi_bytes(melodies, steps_per_quarter, bpm)
    atomic_write(path, lambda f: f.write(midi))


def midi_bytes(melodies: np.ndarray, steps_per_quarter: int = 2, bpm: float = 90.0) -> bytes:
    """The bytes of the MIDI file `write_midi` writes: melodies (N, T) one after another."""
    from music21 import meter, note, stream, tempo
    from music21.midi.translate import music21ObjectToMidiFile

    part = stream.Part([tempo.MetronomeMark(number=bpm), meter.TimeSignature("4/4")])
    for melody in as_melodies(melodies):
        t = 0
        for pitch, start, length in notes(melody):
            if start > t:
                part.append(note.Rest(quarterLength=(start - t) / steps_per_quarter))
            part.append(note.Note(int(pitch), quarterLength=length / steps_per_quarter))
            t = start + length
        part.append(note.Rest(quarterLength=4 + (len(melody) - t) / steps_per_quarter))
    return music21ObjectToMidiFile(stream.Score([part])).writestr()  # what .write("midi") writes
