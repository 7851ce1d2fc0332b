"""Named settings of the learners used by the pipeline.

- ``tuned`` (the default): the best measured settings (benchmarks/results/learn.md).
  SSiam/TSiam: their estimator defaults — a 64-d output instead of the reference code's
  2-d one (a left-over of the MNIST example it was adapted from), Adam for 60 epochs on
  L2-normalised inputs, and the hidden features beside the base ones.
  CCL: its estimator defaults (confident pseudo-labels, base and learned vectors combined).
- ``paper``: the authors' settings. SSiam/TSiam: hidden 512, output 2, SGD, 15 epochs,
  raw inputs (FG 2019). CCL: FINCH's first partition as pseudo-labels and the learned
  vectors alone (FG 2020).
"""
from __future__ import annotations

CODE_VERSION = 5  # bump when a change alters what the learners produce

VARIANTS: dict[str, dict[str, dict]] = {
    "paper": {"siamese": {"out_dim": 2, "optimizer": "sgd", "epochs": 15, "normalize_input": False, "output": "hidden"},
              "ccl": {"pseudo_labels": "finch", "output": "learned", "train_without_tracks": True}},
    "tuned": {"siamese": {}, "ccl": {}},
}

METHODS = ("ssiam", "tsiam", "both", "ccl")
TRACK_METHODS = ("tsiam", "both", "ccl")  # fitted with the faces' tracks and frames
# Learners whose output keeps the base vectors' scale (CCL: a projection that starts as the identity on the
# unit sphere, beside the base vectors): their stop distance is calibrated on the base vectors, whose pairs on
# screen together were not trained apart. SSiam/TSiam's hidden layer has a scale of its own: calibrated there.
BASE_SCALE_METHODS = ("ccl",)


def make_learner(method: str, variant: str, seed: int):
    """An unfitted learner: ``ssiam``, ``tsiam``, ``both`` (TSiam with half of each
    batch mined as SSiam does) or ``ccl``, with a variant's settings."""
    from facecluster.learn.ccl import CCL
    from facecluster.learn.estimators import SSiam, TSiam

    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)} (here: {variant!r})")
    siamese, ccl = VARIANTS[variant]["siamese"], VARIANTS[variant]["ccl"]
    if method == "ssiam":
        return SSiam(random_state=seed, **siamese)
    if method == "tsiam":
        return TSiam(random_state=seed, **siamese)
    if method == "both":
        return TSiam(random_state=seed, mined_fraction=0.5, **siamese)
    if method == "ccl":
        return CCL(random_state=seed, **ccl)
    raise ValueError(f"method must be one of {', '.join(METHODS)} (here: {method!r})")
