"""One video from file to written outputs, and the in-process loop over several videos.

A video that fails for a known reason ends in its outcome's ``error``; the
others go on. Dask execution (:mod:`facecluster.jobs.dask`) runs the same
:func:`process_one_video` on its workers.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from facecluster.cache import remove_stale_temporaries
from facecluster.cluster.linking import SourcePeople
from facecluster.config import PipelineConfig
from facecluster.errors import FaceclusterError, InputError, interrupted
from facecluster.outputs.folders import check_output_folder
from facecluster.pipeline.video import VideoResult, run_video
from facecluster.types import ProgressHook


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


def process_one_video(path: Path, out_root: Path, config: PipelineConfig, *, hook: ProgressHook | None = None,
                      force: bool = False, parquet: bool = False, keep_result: bool = True) -> VideoOutcome:
    """Run one video and write its outputs to ``out_root/<stem>/``; domain errors end up in ``outcome.error``."""
    from facecluster.outputs.corrections import corrected
    from facecluster.outputs.people import people_of_video
    from facecluster.outputs.video import write_failure, write_video_outputs

    folder = output_folder(out_root, path)
    outcome = VideoOutcome(video=path, folder=folder)
    t0 = time.perf_counter()
    try:
        check_output_folder(folder, force)
    except FaceclusterError as exc:  # nothing is written into a folder we may not write into
        outcome.error = str(exc)
        _close(hook)
        return outcome
    remove_stale_temporaries(folder)  # what a killed run left half-written
    try:
        result, names = corrected(run_video(path, folder, config, hook=hook, force=force), folder)
        write_video_outputs(result, folder, parquet=parquet, names=names)
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
        if interrupted():  # a Ctrl-C that an import turned into an error: the run stops here
            raise KeyboardInterrupt from None
        outcome.error = str(exc)
        if folder.is_dir():  # a rerun: what an earlier run wrote must not look current
            write_failure(folder, outcome.error)
    except Exception as exc:  # any other failure ends this video only
        if interrupted():
            raise KeyboardInterrupt from None
        log = folder / "error.log"
        outcome.error = f"{path}: unexpected {type(exc).__name__}: {exc} (details in {log})"
        write_failure(folder, outcome.error, traceback.format_exc())
    finally:
        _close(hook)
    outcome.seconds = time.perf_counter() - t0
    return outcome


def _close(hook) -> None:
    close = getattr(hook, "close", None)
    if close:
        close()


def check_stems(paths: list[Path], out_root: Path) -> None:
    """Refuse two inputs whose outputs would share ``out_root/<stem>/``."""
    stems: dict[str, Path] = {}
    for p in paths:
        if p.stem in stems and stems[p.stem] != p:
            raise InputError(p, f"has the same name stem as {stems[p.stem]}; their outputs would collide in {out_root / p.stem}")
        stems[p.stem] = p


def write_video_collection(out_root: str | Path, outcomes: list[VideoOutcome],
                           names: dict[tuple[str, int], str] | None = None) -> dict[str, Path]:
    """After a run over several videos: ``OUT/people.json`` and ``OUT/people.html`` (the people of
    the finished videos linked across videos; removed when fewer than two finished) and
    ``OUT/index.html`` (every video, failed ones marked). ``names``: (output folder name, person)
    → the name a people gallery gave."""
    from facecluster.outputs.people import write_collection

    return write_collection(out_root, [o.people for o in outcomes if o.people is not None],
                            index_of=[o.folder for o in outcomes if not o.error],
                            failed={o.video.name: o.error for o in outcomes if o.error}, names=names)
