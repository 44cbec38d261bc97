"""Statistics for comparing losses: confidence intervals, paired tests, Holm correction,
Friedman/Nemenyi ranks and the critical-difference diagram.

Plain NumPy/SciPy functions; each docstring states its exact definition.

- `intervals`: `t_interval` (mean ± t half-width over seeds), `bootstrap_ci` (per-image
  percentile bootstrap of a mean).
- `hierarchical`: `pigeonhole_ci` (mean over seeds of per-seed means, two-way bootstrap over
  seeds and images, Owen 2007), `seed_means`, `welch_seed_test` (Welch's t over per-seed means).
- `paired`: `wilcoxon_test`, `permutation_test` (A vs B across images, NaN pairs dropped).
- `multiple`: `holm` (Holm–Bonferroni adjusted p-values).
- `ranks`: `friedman` / `friedman_table`, `mean_ranks`, `critical_difference`, `cd_groups`.
- `cdplot`: `cd_diagram` (PNG + PDF).
- `stability`: `kendall_tau` (τ-b), `loss_ranking`, `rank_stability` (loss rankings per
  architecture and τ between them, jointly bootstrapped over test images).
- `compare`: `compare_pairs` (tidy rows with Holm per metric), `standard_pairs`,
  `significance_marks`, `mean_over_seeds`, `write_rows_csv`.
"""

from salloss.stats.cdplot import cd_diagram
from salloss.stats.compare import (
    ComparisonRow,
    compare_pairs,
    mean_over_seeds,
    significance_marks,
    standard_pairs,
    write_rows_csv,
)
from salloss.stats.hierarchical import (
    PigeonholeCI,
    WelchResult,
    pigeonhole_ci,
    pigeonhole_replicates,
    seed_means,
    welch_seed_test,
)
from salloss.stats.intervals import BootstrapCI, bootstrap_ci, t_interval
from salloss.stats.multiple import holm
from salloss.stats.paired import PairedResult, align_pairs, permutation_test, wilcoxon_test
from salloss.stats.ranks import (
    FriedmanResult,
    cd_groups,
    critical_difference,
    friedman,
    friedman_table,
    mean_ranks,
    nemenyi_q,
    rank_blocks,
)
from salloss.stats.stability import (
    PairTau,
    RankStability,
    kendall_tau,
    loss_ranking,
    rank_stability,
)

__all__ = [
    "BootstrapCI",
    "ComparisonRow",
    "FriedmanResult",
    "PairTau",
    "PairedResult",
    "PigeonholeCI",
    "RankStability",
    "WelchResult",
    "align_pairs",
    "bootstrap_ci",
    "cd_diagram",
    "cd_groups",
    "compare_pairs",
    "critical_difference",
    "friedman",
    "friedman_table",
    "holm",
    "kendall_tau",
    "loss_ranking",
    "mean_over_seeds",
    "mean_ranks",
    "nemenyi_q",
    "permutation_test",
    "pigeonhole_ci",
    "pigeonhole_replicates",
    "rank_blocks",
    "rank_stability",
    "seed_means",
    "significance_marks",
    "standard_pairs",
    "t_interval",
    "welch_seed_test",
    "wilcoxon_test",
    "write_rows_csv",
]
