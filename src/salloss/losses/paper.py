"""The paper's loss grid (SPEC.md §2), in ONE place: tests, configs and reports import it.

Each table is a tuple of (paper row name, spec); row names are the labels of the paper's
Table 2 (Bruckert et al.), so reports can print paper vs. ours side by side.
"""

from __future__ import annotations

LC1 = "10*kld - 2*cc - nss"  # after SAM (Cornia et al.): KLD + CC + NSS
LC1_R = f"{LC1} + r"
LC2 = f"{LC1} + df + gm + sigmse(lam=0.55) + r"

# Table 2: the baseline on MIT1003, 27 rows in the paper's order.
TABLE2: tuple[tuple[str, str], ...] = (
    ("MSE", "mse"),
    ("EAD", "ead"),
    ("AE", "ae"),
    ("MLNET-MSE", "wmse"),
    ("SIG-MSE (λ = 0.25)", "sigmse(lam=0.25)"),
    ("SIG-MSE (λ = 0.55)", "sigmse(lam=0.55)"),
    ("SIG-MSE (λ = 0.75)", "sigmse(lam=0.75)"),
    ("BCE", "bce"),
    ("W-BCE w = 0.9", "wbce(w=0.9)"),
    ("W-BCE w = 0.8", "wbce(w=0.8)"),
    ("W-BCE w = 0.7", "wbce(w=0.7)"),
    ("W-BCE w = 0.6", "wbce(w=0.6)"),
    ("W-BCE w = 0.5", "wbce(w=0.5)"),
    ("W-BCE w = 0.4", "wbce(w=0.4)"),
    ("Focal Loss", "focal(gamma=2)"),
    ("KLD", "kld"),
    ("Bhat", "bhat"),
    ("NLL", "nll"),
    ("CC", "-cc"),
    ("NSS", "-nss"),
    ("Deep Features (DF)", "df"),
    ("Gram Matrices (GM)", "gm"),
    ("SIG-MSE + R", "sigmse(lam=0.55) + r"),
    ("KLD + CC + NSS", LC1),
    ("KLD + CC + NSS + DF + GM", f"{LC1} + df + gm"),
    ("KLD + CC + NSS + R", LC1_R),
    ("KLD + CC + NSS + DF + GM + SIG-MSE + R", LC2),
)

# Table 3: the baseline on CAT2000 and FiWi.
TABLE3: tuple[tuple[str, str], ...] = (
    ("MLNET-MSE", "wmse"),
    ("KLD + CC + NSS + R", LC1_R),
    ("KLD + CC + NSS + DF + GM + SIG-MSE + R", LC2),
)

# Table 4: SAM-VGG on MIT1003.
TABLE4: tuple[tuple[str, str], ...] = TABLE3

# Table 1: the baseline trained with MSE (beside published numbers of other models).
TABLE1: tuple[tuple[str, str], ...] = (("Our model", "mse"),)

TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "table1": TABLE1,
    "table2": TABLE2,
    "table3": TABLE3,
    "table4": TABLE4,
}
