"""Every parameter of a video run in one frozen dataclass, checked at construction."""
from __future__ import annotations

from dataclasses import dataclass

from facecluster.cluster.registry import METHODS as CLUSTER_METHODS
from facecluster.errors import ParameterError
from facecluster.video.tracking import TrackerParams

CLOTHING_METHODS = ("average", "complete", "single")  # linkages that take a precomputed face + clothing distance


@dataclass(frozen=True)
class PipelineConfig:
    """Every parameter of a run. ``num_people=None`` estimates the number of people."""

    detector: str = "centerface"
    score_threshold: float = 0.5
    min_face_size: float = 16.0
    # Detect on every frame, searching some frames of a shot whole (and its first and last) and the others around
    # the faces of those and of the faces just under the threshold there (faces.detect.windows). Chosen leave-one-clip-
    # out on the dev suite for detection recall >= 0.98 on every clip (benchmarks/loso_detect.py ->
    # results/dev_suite_detect_loso.md: lowest held-out recall 0.986). Every 3rd frame (the default before, chosen on two
    # clips) lost up to a fifth of the faces of a Steadicam shot of small faces (recall 0.805) and 4 % on a crowd, a
    # trailer and a news clip; every 2nd frame still lost a tenth of the first. With detect_every > 1 track ends are
    # looked for between key frames and boxes interpolated in between. Of the frames, every 8th of a shot is searched
    # whole (and its first and last): chosen the same way among 4 and 8 (results/dev_suite_detect_loso_full_every.md:
    # 8 for every clip held out, recall >= 0.985 on all 18, about 15 % less wall time than 4; mean B-cubed F 0.950
    # against 0.954 at 4, in-sample, the loss on two clips: Joker, Ellen).
    detect_every: int = 1
    full_frame_every: int = 8
    # Frames larger than this (pixels, longer side) are searched scaled down to it wherever a full-size search of the
    # shot's anchor frames finds no more faces (faces.detect.windows); 0 = always at the detector's full size.
    coarse_side: int = 640
    min_iou: float = 0.3
    max_gap: int = 4
    min_track_faces: int = 5
    faces_per_track: int = 16
    network: str = "sface"  # sface | dlib: the face network (see facecluster.faces.embed)
    embedder: str = "auto"  # dlib's network's backend: auto | onnxruntime | torch | dlib (SFace: auto = OpenCV)
    device: str = "auto"  # auto | cpu | cuda, for the torch embedder and the SSiam/TSiam learners
    cues: str = "auto"  # auto | face | face+clothing (see facecluster.clothing.distance); auto = face+clothing where the linkage allows
    cluster: str = "average"  # see facecluster.cluster.registry
    num_people: int | None = None
    distance_threshold: float | None = None  # None: the method's calibrated default
    # The network's own features. CCL (the default before) gained on the two clips it was tuned on, but on the dev
    # suite's 18 clips at the default detection it scores 0.891 mean B-cubed F against 0.901 without it, and
    # leave-one-clip-out chooses none for every clip (benchmarks/results/dev_suite_dlib*.json, on dlib's network).
    learn: str = "none"  # none | ssiam | tsiam | both | ccl
    learn_variant: str = "tuned"  # tuned | paper (see facecluster.learn.variants)
    seed: int = 0
    workers: int = 1

    def __post_init__(self) -> None:
        if self.detect_every < 1:
            raise ParameterError(f"detect_every must be >= 1 (here: detect_every={self.detect_every})")
        if self.full_frame_every < 1:
            raise ParameterError(f"full_frame_every must be >= 1 (here: full_frame_every={self.full_frame_every})")
        if self.coarse_side != 0 and self.coarse_side < 64:
            raise ParameterError(f"coarse_side must be 0 (off) or >= 64 pixels (here: coarse_side={self.coarse_side})")
        if self.faces_per_track < 0:
            raise ParameterError(f"faces_per_track must be >= 0, 0 = all (here: faces_per_track={self.faces_per_track})")
        if self.num_people is not None and self.num_people < 1:
            raise ParameterError(f"num_people must be >= 1 (here: num_people={self.num_people})")
        from facecluster.learn.variants import METHODS, VARIANTS

        if self.learn != "none" and self.learn not in METHODS:
            raise ParameterError(f"learn must be none, {', '.join(METHODS)} (here: learn={self.learn!r})")

        if self.learn_variant not in VARIANTS:
            raise ParameterError(f"learn_variant must be one of {', '.join(VARIANTS)} (here: {self.learn_variant!r})")
        if self.cluster not in CLUSTER_METHODS:
            raise ParameterError(f"cluster must be one of {', '.join(CLUSTER_METHODS)} (here: cluster={self.cluster!r})")
        if self.workers < 1:
            raise ParameterError(f"workers must be >= 1 (here: workers={self.workers})")
        from facecluster.faces.embed import check_network

        check_network(self.network, self.embedder)
        if self.cues not in ("auto", "face", "face+clothing"):
            raise ParameterError(f"cues must be auto, face or face+clothing (here: {self.cues!r})")
        if self.cues == "face+clothing" and self.cluster not in CLOTHING_METHODS:
            raise ParameterError(f"the clothing cue needs average, complete or single linkage (here: cluster={self.cluster!r})")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ParameterError(f"device must be auto, cpu or cuda (here: {self.device!r})")

    @property
    def uses_clothing(self) -> bool:
        """Whether clustering combines clothing with faces (``auto``: with average, complete or single linkage)."""
        return self.cues == "face+clothing" or (self.cues == "auto" and self.cluster in CLOTHING_METHODS)

    def detector_params(self) -> dict:
        if self.detector in ("centerface", "yunet"):
            return {"score_threshold": self.score_threshold, "min_size": self.min_face_size}
        return {}

    def tracker_params(self) -> TrackerParams:
        # With sparse detection, a gap and a track length are counted in detections.
        return TrackerParams(
            min_iou=self.min_iou,
            max_gap=self.max_gap * self.detect_every,
            min_detections=max(2, -(-self.min_track_faces // self.detect_every)),
        )
