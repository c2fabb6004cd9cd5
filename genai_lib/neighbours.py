"""Nearest records: is a generated row a copy of a training row?

`distance_to_closest_record`: each row's distance to its nearest reference row (DCR).
`near_copy_share`: the share of rows nearer than all but a share q of fresh real rows are.
Both the tables' privacy check (`synthetic`) and the images' copy rate (`quality`) use them.
"""

from __future__ import annotations

import numpy as np
import torch

from genai_lib.checks import matrix


def distance_to_closest_record(query, reference, chunk: int = 2048) -> np.ndarray:
    """Euclidean distance from each query row (N, D) to its nearest reference row (M, D): (N,).

    The privacy check of synthetic tables: synthetic rows much closer to the training rows
    than fresh real rows are suspected copies. Computed in chunks of `chunk` query rows, so
    the (N, M) matrix of distances is never held at once.
    """
    q, r = matrix("query", query), matrix("reference", reference)
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"query and reference must have the same number of columns, "
                         f"got {q.shape[1]} and {r.shape[1]}")
    q, r = torch.from_numpy(q), torch.from_numpy(r)
    return torch.cat([torch.cdist(q[i:i + chunk], r).min(dim=1).values
                      for i in range(0, len(q), chunk)]).numpy()


def near_copy_share(dcr_synthetic, dcr_holdout, q: float = 0.05, *, name: str = "q") -> float:
    """Share of synthetic rows closer to a training row than the q-quantile of held-out rows.

    dcr_synthetic (M,), dcr_holdout (N,): distances to the closest training record. By
    construction a share q of held-out rows are below that threshold. name: q's name in
    the error message.
    """
    if not 0 < q < 1:
        raise ValueError(f"{name} must be between 0 and 1, got {q!r}")
    s, h = np.asarray(dcr_synthetic, float).ravel(), np.asarray(dcr_holdout, float).ravel()
    if len(s) == 0 or len(h) == 0:
        raise ValueError("dcr_synthetic and dcr_holdout must be non-empty")
    return float(np.mean(s < np.quantile(h, q)))
