"""How long placing hidden feet takes on an hour of a busy camera (synthetic tracks, no video).

200 people, each in view for 3 minutes, about 10 in every frame of 54,000 (an hour at 15 fps), one
box in five cut short: :func:`retail_intel.movements.hidden_feet.place_hidden_feet` over all of
them, as ``judge`` runs it once per video. One timing; the machine's load moves it.

Usage: python benchmarks/bench_hidden_feet.py
"""

from __future__ import annotations

import time

import numpy as np

from retail_intel.movements.hidden_feet import place_hidden_feet
from retail_intel.movements.tracks import Track

FPS = 15.0
FRAMES = 54_000
PEOPLE = 200
IN_VIEW = 2_700  # frames each person is seen: 3 minutes


def people(seed: int = 0) -> list[Track]:
    rng = np.random.default_rng(seed)
    out = []
    for number in range(PEOPLE):
        start = int(rng.integers(0, FRAMES - IN_VIEW))
        frames = np.arange(start, start + IN_VIEW)
        cut = rng.random(IN_VIEW) < 0.2
        out.append(
            Track(
                number,
                frames,
                frames / FPS,
                rng.random() * 600 + np.cumsum(rng.normal(0, 1, IN_VIEW)),
                300 + rng.random() * 200 + np.cumsum(rng.normal(0, 0.5, IN_VIEW)),
                np.where(cut, 120.0 - rng.random(IN_VIEW) * 50, 120.0),
                np.full(IN_VIEW, 0.9),
            )
        )
    return out


def main() -> None:
    tracks = people()
    started = time.perf_counter()
    placed = place_hidden_feet(tracks)
    seconds = time.perf_counter() - started
    moved = sum(int(np.sum(p.visible_height != p.height)) for p in placed if p.visible_height is not None)
    samples = sum(len(p) for p in tracks)
    print(f"{samples} samples of {PEOPLE} people over {FRAMES} frames: {seconds:.2f} s, feet placed for {moved}")


if __name__ == "__main__":
    main()
