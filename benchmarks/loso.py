"""Leave-one-set-out choice of a family of default constants on the dev suite (``--family``: ``stop``, the stop rule's;
``clothing``, the clothing cue's; ``ccl``, the default learner's settings; ``linking``, how people are linked across
videos or albums; ``small_albums``, the stop distance of a photo album too small to calibrate one; ``complete``,
``single``, ``ward``: that linkage's fixed stop distance for the default network, each scored with ``--cluster`` set
to it, on the clips and photo sets).

For every labelled set of the suite (videos with ground truth, photo sets, the two embedding sets) and every
combination of the constants in GRID, the set is clustered as a default run would (videos: ``run_video`` with the
default configuration, every stage but the clustering from the cache; photos: ``cluster_photo_faces`` on the faces
of ``embed_photos``; embeddings: ``cluster_embeddings``) and scored (B-cubed F, people found). Then, for each set,
the combination with the best mean B-cubed F over the OTHER sets is applied to it: that is the set's held-out
figure. The linking family is scored on collections instead: every linked pair of clips (each clip clustered from its
cache, its people linked to the other's) and every photo set dealt round-robin into three albums (each album
clustered on its own, its people linked to the other albums'), on the faces of both clips or all albums; and, for
every clip of at most ``FEW_PEOPLE`` people, that clip linked in turn with each other such clip it shares nobody with
(the mean over those pairs: people who must stay apart, where few people leave the linking stop to its fallback). The
small_albums family is scored on every photo set dealt round-robin into albums of ``SMALL_ALBUM`` photos (fewer than
the stop rule's ``MIN_ITEMS`` faces: the fallback decides), the mean over a set's albums. The combination chosen on all sets is what the defaults should be. Writes ``results/dev_suite_loso.md`` and
``.json`` (``dev_suite_loso_<family>.*`` for the other families). The clothing and CCL families are scored on the
videos only (photo collections use neither). With ``--scaled``, the clips scaled by ``dev_suite.py --scale`` count as
sets of their own (``CLIP@1080``), so that a constant is also judged on whether a clip keeps its people at another size.

    .venv/bin/python benchmarks/loso.py [--family stop] [--work DIR] [--sets a,b] \
        [--scaled WORK/scaled-1080 --scaled-work WORK/LABEL]
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import time
from pathlib import Path

import numpy as np
from datasets import data_root, embedding_sets, largest_face_per_photo
from provenance import write_json, write_markdown
from suite import load_suite, read_rows, scored_faces

from facecluster.cluster import stop_rule
from facecluster.cluster.embeddings import cluster_embeddings
from facecluster.config import PipelineConfig
from facecluster.pipeline.photos import cluster_photo_faces, embed_photos
from facecluster.pipeline.video import run_video
from facecluster.research.evaluate import EXCLUDED_LABELS
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
    "clothing_min": {  # pairs of each kind (same person, on screen together) the clothing cue needs to be weighed at all
        "clothing_distance.MIN_PAIRS": [5, 8, 10, 15, 20],
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
    "complete": {"registry.NETWORK_DEFAULTS.sface.complete": [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.95]},  # 1.95: dlib's 0.5 × 3.9
    "single": {"registry.NETWORK_DEFAULTS.sface.single": [0.8, 0.9, 1.0, 1.1, 1.17, 1.3]},  # 1.17: dlib's 0.3 × 3.9
    "ward": {"registry.NETWORK_DEFAULTS.sface.ward": [0.8, 1.0, 1.2, 1.5, 2.0, 2.5, 4.68]},  # 4.68: dlib's 1.2 × 3.9
    "small_albums": {
        "registry.FALLBACK.faces": [0.2, 0.25, 0.3, 0.35, 0.4, 0.45],  # dlib units × the network's scale (SFace: 3.9)
    },
    "linking": {
        # "auto": calibrated on the collection (the stop rule, people of one source being the pairs known to differ);
        # "fixed": LINK_DISTANCE (dlib units × the network's scale: SFace 3.9 → 0.70, 0.78, 0.90, 1.01, 1.09).
        "linking.LINK_THRESHOLD": ["auto", "fixed"],
        "linking.LINK_DISTANCE": [0.18, 0.2, 0.23, 0.26, 0.28],
        "linking.LINK_FALLBACK": [0.2, 0.25, 0.3, 0.4],  # "auto" with too few people to calibrate on (dlib units × scale)
    },
}
GRID = GRIDS["stop"]
SMALL_ALBUM = 40  # photos
LINKAGE_FAMILIES = ("complete", "single", "ward")  # families scored with --cluster set to their linkage
FEW_PEOPLE = 6  # the linking family's unrelated pairs: clips of at most this many people


def _target(key: str):
    """(object, attribute or item, is_item) of a GRID key: ``module.NAME``, ``module.DICT.item`` or ``ccl.param``."""
    from facecluster.clothing import distance as clothing_distance
    from facecluster.cluster import linking, registry
    from facecluster.learn import variants

    modules = {"stop_rule": stop_rule, "registry": registry, "clothing_distance": clothing_distance, "linking": linking}
    parts = key.split(".")
    if parts[0] == "ccl":
        return variants.VARIANTS["tuned"]["ccl"], parts[1], True
    if len(parts) == 4:
        return getattr(modules[parts[0]], parts[1])[parts[2]], parts[3], True
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


def video_scorer(v, work: Path, learn: str | None = None, cluster: str | None = None):
    """A function config -> (B-cubed F, people) for a clip, clustering from the cached stages (with ``learn``, that
    learner instead of the default's: the ccl family scores CCL, which is no longer the default)."""
    cfg = PipelineConfig(workers=os.cpu_count() or 1, **({"learn": learn} if learn else {}), **({"cluster": cluster} if cluster else {}))
    which, truth = scored_faces(run_video(v.video, work / v.name, cfg), v.gt)

    def score(config: dict) -> tuple[float, int]:
        with Patched(config):
            res = run_video(v.video, work / v.name, cfg)
        person = res.track_person[res.tracks.track_ids[which]]
        return all_scores(truth, person)["bcubed_f"], int(res.num_people)

    return score


def _photo_faces(folder: Path, cache: Path):
    """The faces of a photo set, embedded with the default network (pickled under ``cache``)."""
    import pickle

    faces = pickle.loads(cache.read_bytes()) if cache.is_file() else None
    if faces is None or faces.network != PipelineConfig().network:
        faces = embed_photos(folder, workers=os.cpu_count() or 1)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(faces))
    return faces


def _linked_score(sources: list, person_of_source: list[np.ndarray], truth: np.ndarray) -> tuple[float, int]:
    """B-cubed F and people of the collection linked with the patched linking constants; person_of_source[i]: the
    person (in source i) of each scored face of source i, in the order of ``truth``."""
    from facecluster.cluster import linking

    identity, _ = linking.link_sources(sources, linking.LINK_THRESHOLD)
    offsets = np.cumsum([0] + [len(s.person_ids) for s in sources])
    pred = np.concatenate([identity[offsets[i] + np.maximum(p, 0)] for i, p in enumerate(person_of_source)])
    alone = np.concatenate(person_of_source) < 0  # faces of no person: one of their own each
    pred[alone] = -1 - np.arange(int(alone.sum()))
    return all_scores(truth, pred)["bcubed_f"], int(identity.max()) + 1 if len(identity) else 0


def linked_videos_scorer(a, b, work: Path):
    """A function config -> (B-cubed F, people) for two clips linked into one collection (each clip clustered from its
    cache at the default settings; faces of no person count as people of their own)."""
    from facecluster.outputs.people import people_of_video

    cfg = PipelineConfig(workers=os.cpu_count() or 1)
    sources, persons, truths = [], [], []
    for v in (a, b):
        r = run_video(v.video, work / v.name, cfg)
        which, truth = scored_faces(r, v.gt)
        sources.append(people_of_video(r, v.video.stem))
        persons.append(r.track_person[r.tracks.track_ids[which]])
        truths.append(truth)
    truth = np.concatenate(truths)

    def score(config: dict) -> tuple[float, int]:
        with Patched(config):
            return _linked_score(sources, persons, truth)

    return score


def unrelated_scorer(scorers: list):
    """The mean (B-cubed F, people) of several collections' scorers (pairs of clips that share nobody)."""
    def score(config: dict) -> tuple[float, int]:
        results = [s(config) for s in scorers]
        return float(np.mean([f for f, _ in results])), int(round(np.mean([n for _, n in results])))

    return score


def _albums(faces, count: int) -> list[tuple]:
    """A photo set's faces dealt round-robin per person into ``count`` albums: per album (its faces, the rows of each
    photo's largest face (P,), the folder person of each (P,))."""
    from bench_linking import album_of_files, subset

    album = album_of_files(faces.files, count)
    parts = []
    for k in range(count):
        part = subset(faces, np.flatnonzero(album == k))
        scored = largest_face_per_photo(part.face_file, part.boxes)
        parts.append((part, scored, np.asarray([Path(part.files[part.face_file[i]]).parent.name for i in scored])))
    return parts


def albums_scorer(folder: Path, cache: Path, albums: int = 3):
    """A function config -> (B-cubed F, people) for a photo set dealt round-robin per person into ``albums`` albums,
    each clustered on its own (K estimated), their people linked; scored on each photo's largest face."""
    from facecluster.outputs.people import people_of_photos

    sources, persons, truths = [], [], []
    for k, (part, scored, truth) in enumerate(_albums(_photo_faces(folder, cache), albums)):
        person = cluster_photo_faces(part)
        sources.append(people_of_photos(part.vectors, person, "ABCDEFGH"[k], part.network))
        persons.append(person[scored])
        truths.append(truth)
    truth = np.concatenate(truths)

    def score(config: dict) -> tuple[float, int]:
        with Patched(config):
            return _linked_score(sources, persons, truth)

    return score


def small_albums_scorer(folder: Path, cache: Path, size: int = SMALL_ALBUM):
    """A function config -> (mean B-cubed F, mean people) over a photo set dealt round-robin per person into albums of
    about ``size`` photos, each clustered on its own (K estimated); scored on each photo's largest face."""
    faces = _photo_faces(folder, cache)
    parts = _albums(faces, max(1, round(len(faces.files) / size)))

    def score(config: dict) -> tuple[float, int]:
        with Patched(config):
            results = [(all_scores(truth, person[scored])["bcubed_f"], int(person.max()) + 1)
                       for part, scored, truth in parts for person in [cluster_photo_faces(part)]]
        return float(np.mean([f for f, _ in results])), int(round(np.mean([n for _, n in results])))

    return score


def photo_scorer(folder: Path, cache: Path, method: str = "average"):
    faces = _photo_faces(folder, cache)
    scored = largest_face_per_photo(faces.face_file, faces.boxes)
    truth = np.asarray([Path(faces.files[faces.face_file[i]]).parent.name for i in scored])

    def score(config: dict) -> tuple[float, int]:
        with Patched(config):
            person = cluster_photo_faces(faces, method=method)
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
    ap.add_argument("--scaled", type=Path, default=None,
                    help="also score the clips scaled by dev_suite.py --scale (its WORK/scaled-HEIGHT folder), each a set "
                         "of its own named CLIP@HEIGHT, clustered from the caches of that run (--scaled-work: its WORK/LABEL)")
    ap.add_argument("--scaled-work", type=Path, default=None)
    args = ap.parse_args()
    global GRID
    GRID = GRIDS[args.family]
    videos_only = args.family in ("clothing", "clothing_min", "ccl")
    wanted = set(filter(None, args.sets.split(",")))
    suite = load_suite()
    scorers, truth_people = {}, {}
    if args.family == "small_albums":
        for p in suite.photos:
            if not wanted or p.name in wanted:
                scorers[f"{p.name} in albums of {SMALL_ALBUM}"] = small_albums_scorer(p.folder, args.work / "photos" / f"{p.name}.pkl")
                truth_people[f"{p.name} in albums of {SMALL_ALBUM}"] = sum(
                    1 for d in p.folder.rglob("*") if d.is_dir() and any(f.is_file() for f in d.iterdir()))
    if args.family == "linking":
        for a, b, _ in suite.linked_pairs():
            name = f"{a.name} + {b.name}"
            if not wanted or name in wanted:
                scorers[name] = linked_videos_scorer(a, b, args.work)
                truth_people[name] = len({r["label"] for v in (a, b) for r in read_rows(v.gt / "tracks.csv")} - EXCLUDED_LABELS)
        people = {v.name: {r["label"] for r in read_rows(v.gt / "tracks.csv")} - EXCLUDED_LABELS
                  for v in suite.videos if v.gt is not None}
        few = sorted(n for n, labels in people.items() if len(labels) <= FEW_PEOPLE)
        for a in few:
            others = [b for b in few if b != a and not people[a] & people[b]]
            name = f"{a} with each unrelated clip"
            if others and (not wanted or name in wanted):
                scorers[name] = unrelated_scorer([linked_videos_scorer(suite.by_name(a), suite.by_name(b), args.work) for b in others])
                truth_people[name] = len(people[a])
        for p in suite.photos:
            if not wanted or p.name in wanted:
                scorers[f"{p.name} in 3 albums"] = albums_scorer(p.folder, args.work / "photos" / f"{p.name}.pkl")
                truth_people[f"{p.name} in 3 albums"] = sum(1 for d in p.folder.rglob("*") if d.is_dir() and any(f.is_file() for f in d.iterdir()))
    for v in ([] if args.family in ("linking", "small_albums") else suite.videos):
        if v.gt is not None and (not wanted or v.name in wanted):
            t0 = time.perf_counter()
            scorers[v.name] = video_scorer(v, args.work, "ccl" if args.family == "ccl" else None,
                                           args.family if args.family in LINKAGE_FAMILIES else None)
            truth_people[v.name] = len({r["label"] for r in read_rows(v.gt / "tracks.csv")} - EXCLUDED_LABELS)
            print(f"{v.name}: ready in {time.perf_counter() - t0:.0f} s", flush=True)
            scaled = args.scaled / "video" / v.video.name if args.scaled else None
            if scaled is not None and scaled.exists() and (args.scaled / "gt" / v.name / "faces.csv").exists():
                name = f"{v.name}@{args.scaled.name.rsplit('-', 1)[-1]}"
                scorers[name] = video_scorer(dataclasses.replace(v, video=scaled, gt=args.scaled / "gt" / v.name),
                                             args.scaled_work or args.work)
                truth_people[name] = truth_people[v.name]
    for p in ([] if args.family in ("linking", "small_albums") else suite.photos):
        if (not wanted or p.name in wanted) and not videos_only:
            scorers[p.name] = photo_scorer(p.folder, args.work / "photos" / f"{p.name}.pkl",
                                           args.family if args.family in LINKAGE_FAMILIES else "average")
            truth_people[p.name] = sum(1 for d in p.folder.rglob("*") if d.is_dir() and any(f.is_file() for f in d.iterdir()))
    for name, (X, y) in embedding_sets(data_root()).items():
        if (not wanted or name in wanted) and not videos_only and args.family not in ("linking", "small_albums", *LINKAGE_FAMILIES):
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
