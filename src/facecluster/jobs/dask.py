"""Many videos on a Dask cluster (``dask.distributed``): one task per video.

A task runs every stage of one video (decode → shots → detect → track → embed →
learn → cluster) on a Dask worker and writes that video's outputs and cache
under ``OUT/<stem>/`` itself, so OUT must be a path every worker can reach (a
shared file system); :func:`check_reachable` checks this before any work starts.
What comes back to the client is small: a summary and the people's mean
descriptors for linking across videos. A task that raises (a worker dies, an
unexpected error) is retried once on another try, then reported; a video whose
input is bad fails at once with its one-line error. Neither stops the others.

Progress: each task publishes ``(video, stage, done, total)`` events on a Dask
topic (throttled to a few per second); the client feeds them to its progress bars.

``scheduler`` is ``local:N`` (a ``LocalCluster`` of N worker processes on this
machine, each with cores ÷ N threads) or the address of a running scheduler,
e.g. ``tcp://10.0.0.5:8786``.
"""
from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from facecluster.errors import InputError, MissingDependencyError, ParameterError
from facecluster.threads import available_cores

TOPIC_PREFIX = "facecluster-progress"
PROGRESS_INTERVAL_S = 0.25


def _distributed():
    try:
        import distributed
    except ImportError:
        raise MissingDependencyError("--scheduler needs Dask: pip install 'facecluster[dask]'") from None
    return distributed


def parse_scheduler(value: str) -> tuple[str, int | str]:
    """``local:N`` → ("local", N); anything else is a scheduler address → ("address", value)."""
    if value.startswith("local"):
        _, _, n = value.partition(":")
        try:
            count = int(n) if n else 0
        except ValueError:
            count = -1
        if count < 1:
            raise ParameterError(f"--scheduler local:N needs N >= 1 workers (here: {value!r})")
        return "local", count
    if "://" not in value and ":" not in value:
        raise ParameterError(f"--scheduler must be local:N or a scheduler address like tcp://host:8786 (here: {value!r})")
    return "address", value


def make_client(scheduler: str):
    """A connected ``distributed.Client`` (and its LocalCluster, to close, or None)."""
    distributed = _distributed()
    import dask

    kind, arg = parse_scheduler(scheduler)
    if kind == "local":
        cores = available_cores()
        threads = max(1, cores // int(arg))
        # Tasks may start their own process pools (the dlib embedder), which daemonic workers may not;
        # Dask pins OMP_NUM_THREADS to 1 in workers, which would idle OpenCV's detector threads.
        settings = {"distributed.worker.daemon": False, "distributed.nanny.pre-spawn-environ.OMP_NUM_THREADS": str(threads)}
        with dask.config.set(settings):
            cluster = distributed.LocalCluster(n_workers=int(arg), threads_per_worker=threads, processes=True,
                                               dashboard_address=None)
        return distributed.Client(cluster), cluster
    try:
        return distributed.Client(str(arg), timeout="20s"), None
    except OSError as exc:
        raise ParameterError(f"cannot reach the Dask scheduler at {arg}: {exc}") from None


def _probe(path: str) -> bool:
    return os.path.isfile(path)


def check_reachable(client, out_root: Path) -> None:
    """Every worker must see OUT: write a probe file here and look for it on each worker."""
    out_root.mkdir(parents=True, exist_ok=True)
    probe = out_root / f".facecluster-probe-{uuid.uuid4().hex}"
    probe.write_text("probe\n")
    try:
        seen = client.run(_probe, str(probe.resolve()))
    finally:
        probe.unlink(missing_ok=True)
    blind = sorted(worker for worker, ok in seen.items() if not ok)
    if blind:
        raise InputError(out_root, f"not reachable from Dask worker(s) {', '.join(blind)}; "
                                   "OUT must be a path every worker can reach (a shared file system)")


class _WorkerProgress:
    """A pipeline progress hook that publishes throttled events from a Dask worker."""

    def __init__(self, topic: str, video: str) -> None:
        from distributed import get_worker

        self.worker = get_worker()
        self.topic, self.video = topic, video
        self.last = (None, 0.0)

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage == self.last[0] and done < total and now - self.last[1] < PROGRESS_INTERVAL_S:
            return
        self.last = (stage, now)
        self.worker.log_event(self.topic, {"video": self.video, "stage": stage, "done": done, "total": total})


def _run_task(path: Path, out_root: Path, config, force: bool, parquet: bool, topic: str, auto_workers: bool):
    from distributed import get_worker

    from facecluster.jobs.videos import process_one_video

    if auto_workers:
        config = replace(config, workers=max(1, get_worker().state.nthreads))
    return process_one_video(path, out_root, config, hook=_WorkerProgress(topic, str(path)), force=force,
                             parquet=parquet, keep_result=False)


def process_videos_on_dask(paths: list[Path], out_root: Path, config, *, scheduler: str,
                           hook_for: Callable | None = None, force: bool = False, parquet: bool = False,
                           on_done: Callable | None = None, auto_workers: bool = False) -> list:
    """Run each video as one Dask task; outcomes in input order, ``on_done`` as each finishes."""
    from facecluster.jobs.videos import VideoOutcome, output_folder

    distributed = _distributed()
    kind, _ = parse_scheduler(scheduler)
    if kind == "address":  # remote workers do not share our working directory
        paths, out_root = [p.resolve() for p in paths], out_root.resolve()
    client, cluster = make_client(scheduler)
    try:
        check_reachable(client, out_root)
        topic = f"{TOPIC_PREFIX}-{uuid.uuid4().hex}"
        hooks = {str(p): hook_for(p) for p in paths} if hook_for else {}

        def on_event(event) -> None:
            _, msg = event
            hook = hooks.get(msg.get("video"))
            if hook:
                hook(msg["stage"], msg["done"], msg["total"])

        if hooks:
            client.subscribe_topic(topic, on_event)
        futures = {
            client.submit(_run_task, p, out_root, config, force, parquet, topic, auto_workers,
                          key=f"facecluster-{i}-{p.stem}-{uuid.uuid4().hex[:8]}", retries=1, pure=False): i
            for i, p in enumerate(paths)
        }
        outcomes: list = [None] * len(paths)
        for future in distributed.as_completed(futures):
            i = futures[future]
            try:
                outcome = future.result()  # bad input comes back as outcome.error, not as an exception
            except Exception as exc:  # the task failed twice (worker lost, unexpected error)
                reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
                outcome = VideoOutcome(video=paths[i], folder=output_folder(out_root, paths[i]),
                                       error=f"{paths[i]}: failed on the Dask cluster after one retry ({reason})")
            hook = hooks.get(str(paths[i]))
            if hook and hasattr(hook, "close"):
                hook.close()
            outcomes[i] = outcome
            if on_done:
                on_done(outcome)
        if hooks:
            client.unsubscribe_topic(topic)
        return outcomes
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
