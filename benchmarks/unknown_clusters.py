"""How well the console's clustering of unknown faces groups people: purity and completeness
of ``vidsentry.console.clusters.cluster_online`` over a sweep of thresholds, on a folder of
``<person>/<photo>`` images (AT&T/ORL in EVALUATION.md).

Each photo goes the way a live face does: the photo detector, the face stage's aligned
96-px crop, its embedding from the crop (``crop_embedding``). A "track" is 1 photo, or
``--per-track`` photos of one person (the console keeps up to 3 embeddings a track). Tracks
arrive in random order (online clustering depends on it): each figure is the mean over
``--orders`` shuffles. Nothing is written but the table on stdout.

    python benchmarks/unknown_clusters.py DATA_DIR [--per-track 1] [--orders 5]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np

from vidsentry.config.models import ModelsConfig
from vidsentry.console.clusters import cluster_online, score_clusters
from vidsentry.console.unknowns import crop_embedding
from vidsentry.machine import cpu_summary
from workers.face.align import aligned_crop
from workers.face.config import FaceConfig
from workers.face.enrol import build_enroller, person_folders
from workers.face.photos import read_photo

THRESHOLDS = (0.35, 0.40, 0.45, 0.48, 0.50, 0.55, 0.60)


def embeddings(root: Path) -> tuple[list[np.ndarray], list[str], int]:
    face, models = FaceConfig(), ModelsConfig()
    enroller = build_enroller(face, models)
    rows, people, skipped = [], [], 0
    for person, images in person_folders(root).items():
        for image in images:
            rgb = read_photo(image)
            found = enroller.detector.detect_photo(rgb)
            if len(found) != 1:
                skipped += 1
                continue
            crop = aligned_crop(rgb, found.boxes[0], found.landmarks[0], face.crop_size)
            rows.append(crop_embedding(enroller.embedder, crop))
            people.append(person)
    return rows, people, skipped


def as_tracks(rows: list[np.ndarray], people: list[str], per_track: int) -> tuple[list[np.ndarray], list[str]]:
    tracks, truth = [], []
    for person in sorted(set(people)):
        mine = [r for r, p in zip(rows, people, strict=True) if p == person]
        for i in range(0, len(mine) - per_track + 1, per_track):
            tracks.append(np.stack(mine[i:i + per_track]))
            truth.append(person)
    return tracks, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="folder of <person>/<photo> images")
    parser.add_argument("--per-track", type=int, default=1)
    parser.add_argument("--orders", type=int, default=5)
    args = parser.parse_args()
    rows, people, skipped = embeddings(args.data)
    tracks, truth = as_tracks(rows, people, args.per_track)
    print(f"{len(rows)} faces of {len(set(people))} people ({skipped} photos without exactly one face); "
          f"{len(tracks)} tracks of {args.per_track}; mean of {args.orders} orders; {cpu_summary()}")
    print("| threshold | purity | completeness | clusters | singletons |")
    print("|---|---|---|---|---|")
    for threshold in THRESHOLDS:
        scores = []
        for seed in range(args.orders):
            order = list(range(len(tracks)))
            random.Random(seed).shuffle(order)
            labels = cluster_online([tracks[i] for i in order], threshold)
            scores.append(score_clusters(labels, [truth[i] for i in order]))
        print(f"| {threshold:.2f} | {np.mean([s.purity for s in scores]):.3f} | {np.mean([s.completeness for s in scores]):.3f} "
              f"| {np.mean([s.clusters for s in scores]):.1f} | {np.mean([s.singletons for s in scores]):.1f} |")


if __name__ == "__main__":
    main()
