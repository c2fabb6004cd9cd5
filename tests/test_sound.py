"""Unit tests of genai_lib.sound: frequencies, additive synthesis, MIDI files."""

import numpy as np
import pytest

from genai_lib import music, sound

R = music.REST


def test_midi_to_hz():
    assert sound.midi_to_hz(69) == pytest.approx(440.0)
    assert sound.midi_to_hz(81) == pytest.approx(880.0)


def test_synthesize_length_range_and_pitch():
    rate, bpm = 8000, 120.0
    audio = sound.synthesize(np.array([69] * 8), rate=rate, bpm=bpm, harmonics=(1.0,))
    assert audio.dtype == np.float32 and np.abs(audio).max() <= 1.0
    assert len(audio) >= 8 * 60 / bpm / 2 * rate  # 8 eighth notes at 120 bpm = 2 s
    spectrum = np.abs(np.fft.rfft(audio[: rate]))
    assert np.fft.rfftfreq(rate, 1 / rate)[spectrum.argmax()] == pytest.approx(440, abs=2)
    assert np.all(sound.synthesize(np.array([R, R]), rate=rate) == 0)
    with pytest.raises(ValueError, match="rate"):
        sound.synthesize(np.array([60]), rate=100)


def test_write_midi_reads_back(tmp_path):
    m = np.array([[60, 60, 62, R, 64, 64]])
    path = tmp_path / "x.mid"
    sound.write_midi(m, path)
    from music21 import converter

    got = [(n.pitch.midi, float(n.quarterLength)) for n in converter.parse(str(path)).flatten().notes]
    assert got == [(60, 1.0), (62, 0.5), (64, 1.0)]
    assert [p.name for p in tmp_path.iterdir()] == ["x.mid"]  # no temporary file left behind
