"""MIT-saliency-benchmark-exact evaluation metrics (see ``METRICS.md``).

Every metric takes 2-D NumPy arrays (``sal`` of any size; it is resized the MATLAB way when it
differs from the ground truth) and returns a Python float, NaN where the MIT code gives NaN::

    from salloss.metrics import cc, auc_judd, emd
    cc(pred, density); auc_judd(pred, fixations); emd(pred, density)

`METRICS` maps each metric name ("CC", "SIM", "AUC-J", "AUC-B", "NSS", "EMD", "KL", "sAUC",
"IG") to ``(function, needs, higher_is_better)``; `score_records` / `summarise` build the
per-image table and the dataset summary.
"""

from salloss.metrics.auc import auc_borji, auc_judd, auc_shuffled
from salloss.metrics.emd import emd
from salloss.metrics.mit import cc, info_gain, kl_div, nss, similarity
from salloss.metrics.resize import imresize
from salloss.metrics.scoring import (
    METRICS,
    PAPER_METRICS,
    Metric,
    Record,
    score_records,
    summarise,
    write_scores_csv,
    write_summary,
)

__all__ = [
    "cc",
    "similarity",
    "kl_div",
    "nss",
    "auc_judd",
    "auc_borji",
    "auc_shuffled",
    "emd",
    "info_gain",
    "imresize",
    "METRICS",
    "PAPER_METRICS",
    "Metric",
    "Record",
    "score_records",
    "summarise",
    "write_scores_csv",
    "write_summary",
]
