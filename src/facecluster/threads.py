"""Process-wide thread settings, changed safely.

PyTorch's intra-op thread count is one setting per process. Dask runs several
tasks as threads of one worker process, so two tasks that each set it would
race. :func:`torch_threads` holds a process-wide lock for as long as the setting
is changed and the work that needs it runs, then restores the old value: tasks
that embed at the same time take turns, and a task never runs with another
task's setting. Results do not depend on the thread count (the embedder runs
fixed batches), only speed does.

OpenCV's thread count is one setting per process too. SFace runs as copies of
its network side by side, each in a thread of its own, so :func:`opencv_threads`
lets several users hold the setting at once: the first sets it, the last
restores the old value.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.RLock()


def available_cores() -> int:
    """CPU cores this process may run on (its affinity where the system has one)."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the body with ``count`` PyTorch intra-op threads, holding the process-wide lock."""
    import torch

    with _LOCK:
        previous = torch.get_num_threads()
        torch.set_num_threads(max(1, int(count)))
        try:
            yield
        finally:
            torch.set_num_threads(previous)


_OPENCV_LOCK = threading.Lock()
_opencv_users = 0
_opencv_previous = 1


@contextmanager
def opencv_threads(count: int) -> Iterator[None]:
    """Run the body with OpenCV on ``count`` threads (a process-wide setting). Bodies may run at the same time in
    several threads, each a network of its own: the first to enter sets the count (concurrent users ask the same),
    the last to leave restores it. Only speed depends on it."""
    import cv2

    global _opencv_users, _opencv_previous
    with _OPENCV_LOCK:
        if _opencv_users == 0:
            _opencv_previous = cv2.getNumThreads()
            cv2.setNumThreads(max(1, int(count)))
        _opencv_users += 1
    try:
        yield
    finally:
        with _OPENCV_LOCK:
            _opencv_users -= 1
            if _opencv_users == 0:
                cv2.setNumThreads(_opencv_previous)
