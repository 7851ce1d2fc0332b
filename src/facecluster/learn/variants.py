"""Named settings of SSiam/TSiam used by the pipeline.

- ``paper``: the authors' settings (hidden 512, output 2, SGD, 15 epochs, raw inputs).
- ``tuned``: a 64-d output instead of the reference code's 2-d one (a left-over of
  the MNIST example it was adapted from), Adam for 60 epochs on L2-normalised inputs.
"""
from __future__ import annotations

CODE_VERSION = 1  # bump when a change alters what the learners produce

VARIANTS: dict[str, dict] = {
    "paper": {},
    "tuned": {"out_dim": 64, "optimizer": "adam", "epochs": 60, "normalize_input": True},
}


METHODS = ("ssiam", "tsiam", "both")


def make_learner(method: str, variant: str, seed: int):
    """An unfitted learner: ``ssiam``, ``tsiam``, or ``both`` (TSiam with half of each
    batch mined as SSiam does), with a variant's settings."""
    from facecluster.learn.estimators import SSiam, TSiam

    if method == "ssiam":
        return SSiam(random_state=seed, **VARIANTS[variant])
    if method == "tsiam":
        return TSiam(random_state=seed, **VARIANTS[variant])
    if method == "both":
        return TSiam(random_state=seed, mined_fraction=0.5, **VARIANTS[variant])
    raise ValueError(f"method must be one of {', '.join(METHODS)} (here: {method!r})")
