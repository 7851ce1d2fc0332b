"""Representation learning on the target video: SSiam and TSiam (Sharma et al., FG 2019), CCL (FG 2020).

A Siamese MLP trained with a contrastive loss on pairs that the data itself
provides — nearest/farthest neighbours (SSiam) or the face tracks (TSiam) — whose
hidden layer, before the ReLU, becomes the feature used for clustering.
"""
from facecluster.learn.ccl import CCL
from facecluster.learn.estimators import SSiam, TSiam
from facecluster.learn.mining import mine_ssiam_pairs, sample_tsiam_pairs
from facecluster.learn.siamese import SiameseMLP, contrastive_loss

__all__ = ["CCL", "SSiam", "TSiam", "SiameseMLP", "contrastive_loss", "mine_ssiam_pairs", "sample_tsiam_pairs"]
