"""Library functions behind the CLI commands: one per command."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from facecluster.config import PipelineConfig
from facecluster.errors import FaceclusterError
from facecluster.jobs.videos import VideoOutcome, check_stems, process_one_video, write_video_collection  # noqa: F401
from facecluster.outputs.folders import check_collection_folder
from facecluster.types import ProgressHook


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
    :mod:`facecluster.jobs.dask`); with ``auto_workers`` each task then uses
    its worker's threads as ``config.workers``.
    """
    out_root = Path(out_root)
    paths = [Path(v) for v in videos]
    check_stems(paths, out_root)
    if len(paths) > 1:
        check_collection_folder(out_root, force)
    if scheduler:
        from facecluster.jobs.dask import process_videos_on_dask

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




def prepare_gallery(out_root: str | Path, videos: list, gallery: str | Path | None, force: bool = False,
                    network: str = "sface"):
    """The people gallery of a run, opened (and checked) before any video is processed: ``gallery``, or
    ``OUT/people.db`` for a run over several videos; None for one video without ``--gallery``."""
    from facecluster.jobs.gallery import open_gallery
    from facecluster.outputs.folders import OutputFiles

    out_root = Path(out_root)
    if gallery is not None:
        return open_gallery(gallery, network)
    if len(videos) < 2:
        return None
    check_collection_folder(out_root, force)  # a people.db there that we did not write is refused
    OutputFiles(out_root).claim("people.db")
    return open_gallery(out_root / "people.db", network)


def run_demo(out_root: str | Path, config: PipelineConfig = PipelineConfig(), *, hook: ProgressHook | None = None) -> VideoOutcome:
    """Build the sample video under ``out_root`` and run the pipeline on it."""
    from facecluster.demo import write_demo_video

    out_root = Path(out_root)
    video = write_demo_video(out_root / "demo.mp4")
    outcomes = process_videos([video], out_root, config, hook_for=(lambda _p: hook) if hook else None)
    return outcomes[0]






def evaluate(pred_dir: str | Path, gt_dir: str | Path) -> dict:
    from facecluster.research.evaluate import evaluate_dirs

    return evaluate_dirs(pred_dir, gt_dir)


def format_scores(scores: dict) -> str:
    keys = ["detection_recall", "detection_precision", "wcp", "nmi", "nmi_arithmetic", "bcubed_f", "pairwise_f", "num_people_pred", "num_people_true",
            "impure_tracks", "cut_f1", "cut_f1_strict", "cuts_missed", "cuts_extra"]
    return "\n".join(f"{k:>20}: {scores[k]:.4f}" if isinstance(scores.get(k), float) else f"{k:>20}: {scores.get(k)}" for k in keys if k in scores)


def run_paper(episode: str, annotations, *, features=None, video=None, method="all", variant="paper", seed=0,
              max_frames=None, workers=1, hook=None):
    """The paper's protocol on one TV episode; returns (rows, Markdown table)."""
    from facecluster.research.features_io import read_features
    from facecluster.research.paper import (
        METHODS,
        align_features,
        embed_annotated_faces,
        episode_paths,
        format_table,
        run_protocol,
    )
    from facecluster.research.tvdata import read_facetracks

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
