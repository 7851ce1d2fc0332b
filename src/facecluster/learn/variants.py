"""Named settings of SSiam/TSiam used by the pipeline.

- ``paper``: the authors' settings (hidden 512, output 2, SGD, 15 epochs, raw inputs).
- ``tuned``: a 64-d output instead of the reference code's 2-d one (a left-over of
  the MNIST example it was adapted from), Adam for 60 epochs on L2-normalised inputs.
"""
from __future__ import annotations

VARIANTS: dict[str, dict] = {
    "paper": {},
    "tuned": {"out_dim": 64, "optimizer": "adam", "epochs": 60, "normalize_input": True},
}


def make_learner(method: str, variant: str, seed: int):
    """An unfitted SSiam or TSiam with a variant's settings."""
    from .estimators import SSiam, TSiam

    cls = {"ssiam": SSiam, "tsiam": TSiam}[method]
    return cls(random_state=seed, **VARIANTS[variant])
