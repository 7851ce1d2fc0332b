"""Leave-one-set-out choice of a family of default constants on the dev suite (``--family``: ``stop``, the stop rule's;
``clothing``, the clothing cue's; ``ccl``, the default learner's settings).

For every labelled set of the suite (videos with ground truth, photo sets, the two embedding sets) and every
combination of the constants in GRID, the set is clustered as a default run would (videos: ``run_video`` with the
default configuration, every stage but the clustering from the cache; photos: ``cluster_photo_faces`` on the faces
of ``embed_photos``; embeddings: ``cluster_embeddings``) and scored (B-cubed F, people found). Then, for each set,
the combination with the best mean B-cubed F over the OTHER sets is applied to it: that is the set's held-out
figure. The combination chosen on all sets is what the defaults should be. Writes ``results/dev_suite_loso.md`` and
``.json`` (``dev_suite_loso_<family>.*`` for the other families). The clothing and CCL families are scored on the
videos only (photo collections use neither).

    .venv/bin/python benchmarks/loso.py [--family stop] [--work DIR] [--sets a,b]
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from pathlib import Path

import numpy as np
from datasets import data_root, embedding_sets, largest_face_per_photo
from provenance import write_json, write_markdown
from suite import load_suite, read_rows

from facecluster.cluster import stop_rule
from facecluster.cluster.embeddings import cluster_embeddings
from facecluster.config import PipelineConfig
from facecluster.pipeline.photos import cluster_photo_faces, embed_photos
from facecluster.pipeline.video import run_video
from facecluster.research.evaluate import EXCLUDED_LABELS, match_faces
from facecluster.research.metrics import all_scores

RESULTS = Path(__file__).resolve().parent / "results"
GRIDS = {
    "stop": {
        "stop_rule.COMBINE": ["min", "cannot"],
        "stop_rule.NN_FACTOR": [1.4, 2.0],
        "stop_rule.CANNOT_QUANTILE": [0.05, 0.1, 0.2, 0.3],
        "registry.FALLBACK.tracks": [0.3, 0.33, 0.36, 0.4],  # the stop distance of a video with too little evidence (dlib units)
        "stop_rule.MIN_CANNOT_PAIRS": [5, 10],  # fewer pairs on screen together than this: too little evidence
    },
    "clothing": {
        # The default network's (SFace's) entries; dlib's were chosen with this grid before (dev_suite_loso_clothing_dlib.md).
        "clothing_distance.MAX_WEIGHT.sface": [0.0, 0.3, 0.6, 0.9],  # 0: faces alone
        "clothing_distance.CAP.sface": [0.1, 0.2, 0.3],
    },
    "ccl": {  # the default learner's settings (learn.variants.VARIANTS["tuned"]["ccl"])
        "ccl.pseudo_labels": ["mutual", "confident", "finch"],
        "ccl.output": ["combined", "learned"],
        "ccl.epochs": [10, 20, 40],
    },
}
GRID = GRIDS["stop"]


def _target(key: str):
    """(object, attribute or item, is_item) of a GRID key: ``module.NAME``, ``module.DICT.item`` or ``ccl.param``."""
    from facecluster.clothing import distance as clothing_distance
    from facecluster.cluster import registry
    from facecluster.learn import variants

    modules = {"stop_rule": stop_rule, "registry": registry, "clothing_distance": clothing_distance}
    parts = key.split(".")
    if parts[0] == "ccl":
        return variants.VARIANTS["tuned"]["ccl"], parts[1], True
    if len(parts) == 3:
        return getattr(modules[parts[0]], parts[1]), parts[2], True
    return modules[parts[0]], parts[1], False


def current(key: str):
    obj, name, item = _target(key)
    if key.startswith("ccl.") and name not in obj:
        from facecluster.learn.ccl import CCL

        return CCL().get_params()[name]
    return obj[name] if item else getattr(obj, name)


def _set(key: str, value) -> None:
    obj, name, item = _target(key)
    if item:
        obj[name] = value
    else:
        setattr(obj, name, value)


def configs() -> list[dict]:
    return [dict(zip(GRID, values)) for values in itertools.product(*GRID.values())]


class Patched:
    """The constants of ``config`` (GRID keys) set inside the block."""

    def __init__(self, config: dict) -> None:
        self.config = dict(config)

    def __enter__(self):
        self.saved = {k: current(k) for k in self.config}
        for k, v in self.config.items():
            _set(k, v)

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            _set(k, v)


def video_scorer(v, work: Path, learn: str | None = None):
    """A function config -> (B-cubed F, people) for a clip, clustering from the cached stages (with ``learn``, that
    learner instead of the default's: the ccl family scores CCL, which is no longer the default)."""
    cfg = PipelineConfig(workers=os.cpu_count() or 1, **({"learn": learn} if learn else {}))
    r = run_video(v.video, work / v.name, cfg)
    rows = np.flatnonzero(r.tracks.track_ids >= 0)
    pred = [{"frame": int(r.detections.frames[i]), **dict(zip(("x1", "y1", "x2", "y2"), r.detections.boxes[i].tolist())),
             "person": str(k)} for k, i in enumerate(rows)]
    pairs, _ = match_faces(pred, read_rows(v.gt / "faces.csv"))
    scored = [(int(p), t) for p, t in pairs if t not in EXCLUDED_LABELS]
    which = rows[np.asarray([p for p, _ in scored], np.int64)]
    truth = np.asarray([t for _, t in scored])

    def score(config: dict) -> tuple[float, int]:
        with Patched(config):
            res = run_video(v.video, work / v.name, cfg)
        person = res.track_person[res.tracks.track_ids[which]]
        return all_scores(truth, person)["bcubed_f"], int(res.num_people)

    return score


def photo_scorer(folder: Path, cache: Path):
    import pickle

    if cache.is_file():
        faces = pickle.loads(cache.read_bytes())
    else:
        faces = embed_photos(folder, workers=os.cpu_count() or 1)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(faces))
    scored = largest_face_per_photo(faces.face_file, faces.boxes)
    truth = np.asarray([Path(faces.files[faces.face_file[i]]).parent.name for i in scored])

    def score(config: dict) -> tuple[float, int]:
        with Patched(config):
            person = cluster_photo_faces(faces)
        return all_scores(truth, person[scored])["bcubed_f"], int(person.max()) + 1

    return score


def embedding_scorer(X: np.ndarray, y: np.ndarray):
    def score(config: dict) -> tuple[float, int]:
        with Patched(config):
            labels = cluster_embeddings(X)
        return all_scores(y, labels)["bcubed_f"], int(labels.max()) + 1

    return score


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/facecluster-loso"))
    ap.add_argument("--sets", default="")
    ap.add_argument("--family", choices=sorted(GRIDS), default="stop")
    args = ap.parse_args()
    global GRID
    GRID = GRIDS[args.family]
    videos_only = args.family in ("clothing", "ccl")
    wanted = set(filter(None, args.sets.split(",")))
    suite = load_suite()
    scorers, truth_people = {}, {}
    for v in suite.videos:
        if v.gt is not None and (not wanted or v.name in wanted):
            t0 = time.perf_counter()
            scorers[v.name] = video_scorer(v, args.work, "ccl" if args.family == "ccl" else None)
            truth_people[v.name] = len({r["label"] for r in read_rows(v.gt / "tracks.csv")} - EXCLUDED_LABELS)
            print(f"{v.name}: ready in {time.perf_counter() - t0:.0f} s", flush=True)
    for p in suite.photos:
        if (not wanted or p.name in wanted) and not videos_only:
            scorers[p.name] = photo_scorer(p.folder, args.work / "photos" / f"{p.name}.pkl")
            truth_people[p.name] = sum(1 for d in p.folder.rglob("*") if d.is_dir() and any(f.is_file() for f in d.iterdir()))
    for name, (X, y) in embedding_sets(data_root()).items():
        if (not wanted or name in wanted) and not videos_only:
            scorers[name] = embedding_scorer(X, y)
            truth_people[name] = len(set(y.tolist()))
    grid = configs()
    table: dict[str, list[tuple[float, int]]] = {}
    for name, score in scorers.items():
        t0 = time.perf_counter()
        table[name] = [score(c) for c in grid]
        print(f"{name}: {len(grid)} configs in {time.perf_counter() - t0:.0f} s", flush=True)
    names = list(table)
    mean = lambda i, among: float(np.mean([table[n][i][0] for n in among]))  # noqa: E731
    default = next(i for i, c in enumerate(grid) if all(current(k) == v for k, v in c.items()))
    chosen_all = max(range(len(grid)), key=lambda i: (mean(i, names), -abs(i - default)))
    stem = "dev_suite_loso" if args.family == "stop" else f"dev_suite_loso_{args.family}"
    lines = [f"# Leave-one-set-out: the {args.family} constants", "",
             f"Grid: {json.dumps(GRID)}. For each set, the combination with the best mean B-cubed F over the other sets "
             "is applied to it (held out). 'current' is the rule of the code being measured (in-sample where its "
             "constants were chosen on these sets). Chosen on all sets: "
             f"`{json.dumps(grid[chosen_all])}` (mean {mean(chosen_all, names):.3f} in-sample).", "",
             "| set | people | current: B³F, people | held out: chosen on the others → B³F, people | best on this set (ceiling) |",
             "|---|---|---|---|---|"]
    rows = []
    for n in names:
        others = [m for m in names if m != n]
        pick = max(range(len(grid)), key=lambda i: (mean(i, others), -abs(i - default)))
        best = max(range(len(grid)), key=lambda i: table[n][i][0])
        cur, held, top = table[n][default], table[n][pick], table[n][best]
        rows.append({"set": n, "people_true": truth_people[n], "current": cur, "held_out": held, "held_out_config": grid[pick],
                     "best": top, "best_config": grid[best]})
        lines.append(f"| {n} | {truth_people[n]} | {cur[0]:.3f}, {cur[1]} | `{json.dumps(grid[pick])}` → **{held[0]:.3f}**, {held[1]} | "
                     f"{top[0]:.3f}, {top[1]} |")
    held_mean = np.mean([r["held_out"][0] for r in rows])
    worst = min(rows, key=lambda r: r["held_out"][0])
    lines += ["", f"Mean held-out B³F {held_mean:.3f} (current rule {np.mean([r['current'][0] for r in rows]):.3f}); "
                  f"worst held-out set: {worst['set']} ({worst['held_out'][0]:.3f})."]
    write_markdown(RESULTS / f"{stem}.md", "\n".join(lines), "loso.py")
    write_json(RESULTS / f"{stem}.json", {"grid": GRID, "configs": grid, "scores": table, "rows": rows,
                                                 "chosen_on_all": grid[chosen_all]}, "loso.py")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
