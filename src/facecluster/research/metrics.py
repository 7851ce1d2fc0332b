"""Clustering metrics over items with true and predicted labels.

All take two equal-length 1-d label arrays (any hashable values) and treat them
as partitions; scores are in [0, 1] (ARI in [-1, 1]).

- WCP (weighted clustering purity): (1/N) Σ_clusters max_label |cluster ∩ label|.
- NMI, two normalisations: ``nmi_sqrt`` = I / sqrt(H(Y)·H(C)) (the authors' code),
  ``nmi_arithmetic`` = 2I / (H(Y) + H(C)) (scikit-learn's default). With one class
  and one cluster both are 1.
- B-cubed precision/recall/F, item-weighted (Bagga & Baldwin 1998).
- Pairwise precision/recall/F over all unordered item pairs.
"""
from __future__ import annotations

import numpy as np


def _label_indices(true, pred) -> tuple[np.ndarray, np.ndarray]:
    """Each item's class and cluster as 0-based indices: two (n,) int arrays."""
    true = np.asarray(true)
    pred = np.asarray(pred)
    if true.shape != pred.shape or true.ndim != 1:
        raise ValueError(f"label arrays must be 1-d and of equal length (here: {true.shape} and {pred.shape})")
    return np.unique(true, return_inverse=True)[1], np.unique(pred, return_inverse=True)[1]


def contingency(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(classes, clusters) int64 table of co-occurrence counts."""
    t, p = _label_indices(true, pred)
    table = np.zeros((t.max() + 1 if t.size else 0, p.max() + 1 if p.size else 0), np.int64)
    np.add.at(table, (t, p), 1)
    return table


def contingency_cells(true: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-empty cells of the contingency table, for a million items and tens of thousands of
    clusters (where the dense table would not fit): counts (c,), class (c,) and cluster (c,) of each, int64."""
    t, p = _label_indices(true, pred)
    width = int(p.max()) + 1 if p.size else 1
    keys, counts = np.unique(t.astype(np.int64) * width + p, return_counts=True)
    return counts.astype(np.int64), keys // width, keys % width


def wcp(true, pred) -> float:
    table = contingency(true, pred)
    n = table.sum()
    return float(table.max(axis=0).sum() / n) if n else 0.0


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def _mutual_information(table: np.ndarray) -> float:
    n = table.sum()
    pij = table / n
    pi = pij.sum(axis=1, keepdims=True)
    pj = pij.sum(axis=0, keepdims=True)
    nz = pij > 0
    return float((pij[nz] * np.log(pij[nz] / (pi @ pj)[nz])).sum())


def nmi(true, pred, normalization: str = "sqrt") -> float:
    """Normalised mutual information; ``normalization`` is ``sqrt`` or ``arithmetic``."""
    table = contingency(true, pred)
    if table.sum() == 0:
        return 0.0
    h_true, h_pred = _entropy(table.sum(axis=1)), _entropy(table.sum(axis=0))
    if h_true == 0.0 and h_pred == 0.0:
        return 1.0
    mi = _mutual_information(table)
    if normalization == "sqrt":
        denom = np.sqrt(h_true * h_pred)
    elif normalization == "arithmetic":
        denom = (h_true + h_pred) / 2
    else:
        raise ValueError(f"normalization must be 'sqrt' or 'arithmetic' (here: {normalization!r})")
    return float(mi / denom) if denom > 0 else 0.0


def bcubed(true, pred) -> tuple[float, float, float]:
    """Item-weighted B-cubed (precision, recall, F)."""
    counts, classes, clusters = contingency_cells(true, pred)
    n = counts.sum()
    if n == 0:
        return 0.0, 0.0, 0.0
    counts = counts.astype(np.float64)
    cluster_size = np.bincount(clusters, weights=counts)
    class_size = np.bincount(classes, weights=counts)
    # Each item of cell (i, j) has precision n_ij/|cluster j| and recall n_ij/|class i|.
    precision = float((counts**2 / cluster_size[clusters]).sum() / n)
    recall = float((counts**2 / class_size[classes]).sum() / n)
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, float(f)


def pairwise(true, pred) -> tuple[float, float, float]:
    """Pairwise (precision, recall, F) over unordered item pairs."""
    table = contingency(true, pred).astype(np.float64)
    same_both = (table * (table - 1) / 2).sum()
    same_pred = (table.sum(axis=0) * (table.sum(axis=0) - 1) / 2).sum()
    same_true = (table.sum(axis=1) * (table.sum(axis=1) - 1) / 2).sum()
    precision = float(same_both / same_pred) if same_pred else 1.0
    recall = float(same_both / same_true) if same_true else 1.0
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, float(f)


def adjusted_rand(true, pred) -> float:
    table = contingency(true, pred).astype(np.float64)
    n = table.sum()
    if n < 2:
        return 1.0
    comb = lambda x: x * (x - 1) / 2  # noqa: E731
    index = comb(table).sum()
    a, b = comb(table.sum(axis=1)).sum(), comb(table.sum(axis=0)).sum()
    expected = a * b / comb(n)
    maximum = (a + b) / 2
    return float((index - expected) / (maximum - expected)) if maximum != expected else 1.0


def all_scores(true, pred) -> dict[str, float]:
    """Every metric above, by name, plus the numbers of classes and clusters."""
    bp, br, bf = bcubed(true, pred)
    pp, pr, pf = pairwise(true, pred)
    return {
        "wcp": wcp(true, pred),
        "nmi": nmi(true, pred, "sqrt"),
        "nmi_arithmetic": nmi(true, pred, "arithmetic"),
        "bcubed_precision": bp,
        "bcubed_recall": br,
        "bcubed_f": bf,
        "pairwise_precision": pp,
        "pairwise_recall": pr,
        "pairwise_f": pf,
        "ari": adjusted_rand(true, pred),
        "num_people_true": int(len(np.unique(true))),
        "num_people_pred": int(len(np.unique(pred))),
    }
