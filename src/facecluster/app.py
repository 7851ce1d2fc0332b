"""Library functions behind the CLI commands: one per command."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import FaceclusterError, InputError
from .linking import SourcePeople
from .pipeline import PipelineConfig, ProgressHook, VideoResult, run_video


@dataclass
class VideoOutcome:
    """What happened to one input video: ``error`` is None on success.

    ``result`` holds every array of the run (in-process runs only); ``summary``
    (people, tracks, faces, shots) and ``people`` (for linking across videos)
    are small and travel back from Dask workers too.
    """

    video: Path
    folder: Path
    result: VideoResult | None = None
    error: str | None = None
    seconds: float = 0.0
    summary: dict | None = None
    people: "SourcePeople | None" = None


def output_folder(out_root: Path, video: Path) -> Path:
    return out_root / video.stem


# What facecluster writes into an output folder; anything else there is the user's.
OUR_ENTRIES = {"faces.csv", "tracks.csv", "clusters.json", "report.html", "timings.json", "faces.parquet", "names.json",
               "chips", "cache", "people", "report-screenshot.png"}


def check_output_folder(folder: Path, force: bool) -> None:
    """Refuse a folder that is a symbolic link, holds links among our entries, or holds
    files we did not write (the latter allowed with ``force``)."""
    if folder.is_symlink():
        raise InputError(folder, "output folder is a symbolic link; refusing to write through it")
    if not folder.exists():
        return
    if not folder.is_dir():
        raise InputError(folder, "exists and is not a folder")
    entries = sorted(p.name for p in folder.iterdir())
    linked = [n for n in entries if n in OUR_ENTRIES and (folder / n).is_symlink()]
    if linked:
        raise InputError(folder / linked[0], "is a symbolic link; refusing to write through it")
    foreign = [n for n in entries if n not in OUR_ENTRIES and not n.startswith(".")]
    if foreign and not force:
        shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
        raise InputError(folder, f"holds files facecluster did not write ({shown}); choose another -o or pass --force")


def check_stems(paths: list[Path], out_root: Path) -> None:
    """Refuse two inputs whose outputs would share ``out_root/<stem>/``."""
    stems: dict[str, Path] = {}
    for p in paths:
        if p.stem in stems and stems[p.stem] != p:
            raise InputError(p, f"has the same name stem as {stems[p.stem]}; their outputs would collide in {out_root / p.stem}")
        stems[p.stem] = p


def process_one_video(path: Path, out_root: Path, config: PipelineConfig, *, hook: ProgressHook | None = None,
                      force: bool = False, parquet: bool = False, keep_result: bool = True) -> VideoOutcome:
    """Run one video and write its outputs to ``out_root/<stem>/``; domain errors end up in ``outcome.error``."""
    from .linking import people_of_video
    from .outputs import write_video_outputs

    folder = output_folder(out_root, path)
    outcome = VideoOutcome(video=path, folder=folder)
    t0 = time.perf_counter()
    try:
        check_output_folder(folder, force)
        result = run_video(path, folder, config, hook=hook, force=force)
        write_video_outputs(result, folder, parquet=parquet)
        outcome.summary = {
            "num_people": result.num_people,
            "num_tracks": result.tracks.num_tracks,
            "num_faces": int((result.tracks.track_ids >= 0).sum()),
            "num_shots": len(result.shots),
        }
        outcome.people = people_of_video(result, folder.name)
        if keep_result:
            outcome.result = result
    except FaceclusterError as exc:
        outcome.error = str(exc)
    finally:
        close = getattr(hook, "close", None)
        if close:
            close()
    outcome.seconds = time.perf_counter() - t0
    return outcome


def process_videos(
    videos: list[str | Path],
    out_root: str | Path,
    config: PipelineConfig = PipelineConfig(),
    *,
    hook_for: Callable[[Path], ProgressHook] | None = None,
    force: bool = False,
    parquet: bool = False,
    on_done: Callable[[VideoOutcome], None] | None = None,
    scheduler: str | None = None,
    auto_workers: bool = False,
) -> list[VideoOutcome]:
    """Run each video and write its outputs to ``out_root/<stem>/``; outcomes in input order.

    A video that fails is reported in its outcome and does not stop the others.
    ``scheduler``: None runs here, one video after another; ``local:N`` or a Dask
    scheduler address runs the videos as tasks on a Dask cluster (see
    :mod:`facecluster.distributed`); with ``auto_workers`` each task then uses
    its worker's threads as ``config.workers``.
    """
    out_root = Path(out_root)
    paths = [Path(v) for v in videos]
    check_stems(paths, out_root)
    if scheduler:
        from .distributed import process_videos_on_dask

        return process_videos_on_dask(paths, out_root, config, scheduler=scheduler, hook_for=hook_for, force=force,
                                      parquet=parquet, on_done=on_done, auto_workers=auto_workers)
    outcomes = []
    for path in paths:
        hook = hook_for(path) if hook_for else None
        outcome = process_one_video(path, out_root, config, hook=hook, force=force, parquet=parquet)
        outcomes.append(outcome)
        if on_done:
            on_done(outcome)
    return outcomes


def link_videos(out_root: str | Path, outcomes: list[VideoOutcome]) -> tuple[Path, Path] | None:
    """``OUT/people.json`` and ``OUT/people.html``: the people of the finished videos linked
    across videos (None when fewer than two videos finished)."""
    from .linking import write_people

    sources = [o.people for o in outcomes if o.people is not None]
    if len(sources) < 2:
        return None
    return write_people(out_root, sources)


def run_demo(out_root: str | Path, config: PipelineConfig = PipelineConfig(), *, hook: ProgressHook | None = None) -> VideoOutcome:
    """Build the sample video under ``out_root`` and run the pipeline on it."""
    from .demo import write_demo_video

    out_root = Path(out_root)
    video = write_demo_video(out_root / "demo.mp4")
    outcomes = process_videos([video], out_root, config, hook_for=(lambda _p: hook) if hook else None)
    return outcomes[0]


@dataclass
class PhotoOutcome:
    folder: Path
    num_photos: int
    num_faces: int
    num_people: int
    skipped: list[tuple[str, str]]
    seconds: float
    people: SourcePeople | None = None  # for linking albums


def process_photos(root: str | Path, out_root: str | Path, *, num_people: int | None = None, cluster: str = "average",
                   distance_threshold: float | None = None, learn: str = "none", seed: int = 0, workers: int = 1,
                   embedder: str = "torch", export_folders: bool = False, copy: bool = False, parquet: bool = False, hook=None, warn=None) -> PhotoOutcome:
    """``facecluster images``: every face in the photos under ``root``, clustered into people."""
    from .images import cluster_photo_faces, embed_photos
    from .photo_outputs import write_photo_outputs

    t0 = time.perf_counter()
    root = Path(root)
    faces = embed_photos(root, workers=workers, embedder=embedder, hook=hook, warn=warn)
    t1 = time.perf_counter()
    person = cluster_photo_faces(faces, num_people=num_people, method=cluster, threshold=distance_threshold, learn=learn, seed=seed)
    faces.timings["cluster"] = time.perf_counter() - t1
    folder = Path(out_root) / (root.resolve().name or "photos")
    params = {"num_people": num_people, "cluster": cluster, "distance_threshold": distance_threshold, "learn": learn, "seed": seed,
              "detector": "centerface", "embedder": "dlib-resnet-v1", "backend": embedder}
    write_photo_outputs(faces, person, folder, params, export_folders=export_folders, copy=copy, parquet=parquet)
    from .linking import people_of_photos

    return PhotoOutcome(folder, len(faces.files), len(person), int(person.max()) + 1 if len(person) else 0, faces.skipped,
                        time.perf_counter() - t0, people_of_photos(faces.vectors, person, folder.name))


def evaluate(pred_dir: str | Path, gt_dir: str | Path) -> dict:
    from .evaluate import evaluate_dirs

    return evaluate_dirs(pred_dir, gt_dir)


def format_scores(scores: dict) -> str:
    keys = ["detection_recall", "detection_precision", "wcp", "nmi", "nmi_arithmetic", "bcubed_f", "pairwise_f", "num_people_pred", "num_people_true"]
    return "\n".join(f"{k:>20}: {scores[k]:.4f}" if isinstance(scores.get(k), float) else f"{k:>20}: {scores.get(k)}" for k in keys if k in scores)


def run_paper(episode: str, annotations, *, features=None, video=None, method="all", variant="paper", seed=0,
              max_frames=None, workers=1, hook=None):
    """The paper's protocol on one TV episode; returns (rows, Markdown table)."""
    from .features_io import read_features
    from .paper import METHODS, align_features, embed_annotated_faces, episode_paths, format_table, run_protocol
    from .tvdata import read_facetracks

    if (features is None) == (video is None):
        raise FaceclusterError("give exactly one of --features FILE and --video FILE")
    ep = read_facetracks(episode_paths(Path(annotations), episode))
    if features is not None:
        X = align_features(ep, read_features(features), str(features))
    else:
        X = embed_annotated_faces(video, ep, workers=workers)
    methods = METHODS if method == "all" else (method,)
    rows = run_protocol(ep, X, methods=methods, variant=variant, seed=seed, max_frames=max_frames, hook=hook)
    return rows, format_table(episode, rows)


def dump_json(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True)
