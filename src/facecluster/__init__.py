"""facecluster: who appears in a video, and when.

Detect faces, follow them through shots, adapt a face representation to the
video without labels, and group the faces into people.
"""
from __future__ import annotations

from facecluster._version import __version__

__all__ = ["__version__", "run_video", "PipelineConfig", "VideoResult", "SSiam", "TSiam", "CCL", "cluster_embeddings"]


def __getattr__(name: str):
    # Lazy: importing the package stays cheap (the CLI imports heavy parts on demand).
    if name in ("run_video", "PipelineConfig", "VideoResult"):
        if name == "PipelineConfig":
            from facecluster.config import PipelineConfig

            return PipelineConfig
        from facecluster.pipeline import video

        return getattr(video, name)
    if name == "cluster_embeddings":
        from facecluster.cluster.embeddings import cluster_embeddings

        return cluster_embeddings
    if name in ("SSiam", "TSiam", "CCL"):
        from facecluster import learn

        return getattr(learn, name)
    raise AttributeError(f"module 'facecluster' has no attribute {name!r}")
