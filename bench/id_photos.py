"""How well and how fast the center reads ID photos: a labelled set made at run time.

    .venv/bin/python bench/id_photos.py                  # 9 documents × 8 variants = 72 photos
    .venv/bin/python bench/id_photos.py --seeds 3 --workers 2 --json /tmp/id.json

In process, no server. The demo world's documents (resident cards, the driver licence, the
passports) are drawn by :mod:`certcenter.simulators.id_photos` and photographed clean (two
seeds), at a steep angle (``warp``) and with each defect the center must refuse: ``glare``,
``blur``, ``dark``, ``crop``, ``small``. Every photo goes through
:class:`certcenter.identity.documents.pipeline.DocumentPhotoReader` (OpenCV, then Tesseract
on standard input) in ``--workers`` processes (default 2, one per core; Tesseract is held to
one thread per call). Printed:

- **reading**: per document type, the share of readable photos read in full and correctly,
  and per field the share read correctly (a photo refused or unreadable counts as wrong);
- **refusals**: per quality problem, precision and recall of its code (which photos were
  refused with it, against which were made with that defect);
- **speed**: photos per second over the whole set and p50/p95 seconds per photo.

Nothing is asserted: a busy machine gives slow figures, not a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from certcenter.errors import CertCenterError
from certcenter.identity.documents.pipeline import DocumentPhotoReader
from certcenter.simulators.id_photos import card_facts, photo
from certcenter.simulators.world import load_world

TODAY = date(2026, 11, 23)
DOCUMENTS = [
    ("C001", "resident_card"),
    ("C005", "resident_card"),
    ("C010", "resident_card"),
    ("C011", "resident_card"),
    ("S011", "resident_card"),
    ("C004", "resident_card"),
    ("C002", "driver_licence"),
    ("C001", "passport"),
    ("C003", "passport"),
]
DEFECT_CODES = {
    "glare": "ID_PHOTO_GLARE",
    "blur": "ID_PHOTO_BLURRED",
    "dark": "ID_PHOTO_TOO_DARK",
    "crop": "ID_PHOTO_CARD_CUT_OFF",
    "small": "ID_PHOTO_CARD_TOO_SMALL",
}
FIELDS = {
    "resident_card": ("name", "rrn", "issue_date"),
    "driver_licence": ("name", "birth_date", "number", "serial"),
    "passport": ("name", "birth_date", "number", "expiry"),
}


@dataclass(frozen=True)
class Sample:
    key: str
    kind: str
    defect: str | None
    seed: int


def labelled_set(seeds: int) -> list[Sample]:
    samples: list[Sample] = []
    for key, kind in DOCUMENTS:
        for seed in range(seeds):
            samples.append(Sample(key, kind, None, seed))
        samples.append(Sample(key, kind, "warp", 0))
        for defect in DEFECT_CODES:
            samples.append(Sample(key, kind, defect, 0))
    return samples


_READER: DocumentPhotoReader | None = None


def _run(sample: Sample) -> dict[str, Any]:
    global _READER  # one reader per worker process
    if _READER is None:
        _READER = DocumentPhotoReader()
    person = load_world().people[sample.key]
    data = photo(
        person, sample.kind, defects=[sample.defect] if sample.defect else [], seed=sample.seed
    )
    started = time.perf_counter()
    outcome: dict[str, Any] = {"sample": sample.__dict__}
    try:
        reading = _READER.read(data, today=TODAY)
        outcome.update(kind=reading.kind, fields=reading.fields, code=None)
    except CertCenterError as refusal:
        outcome.update(kind=None, fields={}, code=refusal.code)
    outcome["seconds"] = time.perf_counter() - started
    return outcome


def _percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def report(results: list[dict[str, Any]], wall: float, workers: int) -> dict[str, Any]:
    world = load_world()
    reading: dict[str, Any] = {}
    for kind, names in FIELDS.items():
        readable = [
            r for r in results
            if r["sample"]["kind"] == kind and r["sample"]["defect"] in (None, "warp")
        ]  # fmt: skip
        per_field = dict.fromkeys(names, 0)
        whole = 0
        for r in readable:
            truth = card_facts(world.people[r["sample"]["key"]], kind).fields
            right = [name for name in names if r["fields"].get(name) == truth[name]]
            for name in right:
                per_field[name] += 1
            whole += r["kind"] == kind and len(right) == len(names)
        count = len(readable)
        reading[kind] = {
            "photos": count,
            "document": whole / count if count else 0.0,
            "fields": {name: hits / count for name, hits in per_field.items()} if count else {},
            "refused": sorted({r["code"] for r in readable if r["code"]}),
        }
    refusals: dict[str, Any] = {}
    for defect, code in DEFECT_CODES.items():
        made = [r for r in results if r["sample"]["defect"] == defect]
        said = [r for r in results if r["code"] == code]
        right = [r for r in said if r["sample"]["defect"] == defect]
        refusals[code] = {
            "photos": len(made),
            "precision": len(right) / len(said) if said else 0.0,
            "recall": len(right) / len(made) if made else 0.0,
        }
    seconds = sorted(r["seconds"] for r in results)
    speed = {
        "photos": len(results),
        "workers": workers,
        "photos_per_second": len(results) / wall if wall else 0.0,
        "p50_seconds": _percentile(seconds, 50),
        "p95_seconds": _percentile(seconds, 95),
        "readable_p95_seconds": _percentile(
            sorted(r["seconds"] for r in results if r["sample"]["defect"] in (None, "warp")), 95
        ),
    }
    return {"reading": reading, "refusals": refusals, "speed": speed}


def _print(figures: dict[str, Any]) -> None:
    print("reading (clean and steep-angle photos)")
    for kind, row in figures["reading"].items():
        fields = "  ".join(f"{name} {share:.0%}" for name, share in row["fields"].items())
        refused = f"  refused: {', '.join(row['refused'])}" if row["refused"] else ""
        print(
            f"  {kind:15} {row['photos']:3} photos  "
            f"document {row['document']:.0%}  {fields}{refused}"
        )
    print("refusals (per quality problem)")
    for code, row in figures["refusals"].items():
        print(
            f"  {code:24} {row['photos']:3} photos  precision {row['precision']:.0%}  "
            f"recall {row['recall']:.0%}"
        )
    s = figures["speed"]
    print(
        f"speed: {s['photos']} photos, {s['workers']} workers, "
        f"{s['photos_per_second']:.2f} photos/s, "
        f"p50 {s['p50_seconds']:.2f} s, p95 {s['p95_seconds']:.2f} s per photo "
        f"(read ones: p95 {s['readable_p95_seconds']:.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="clean photos per document")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    os.environ["OMP_THREAD_LIMIT"] = "1"
    samples = labelled_set(args.seeds)
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(_run, samples))
    wall = time.perf_counter() - started
    figures = report(results, wall, args.workers)
    _print(figures)
    if args.json:
        args.json.write_text(json.dumps({"figures": figures, "results": results}, indent=1))


if __name__ == "__main__":
    main()
