"""Learned loss weights (`learned(...)` specs, Kendall et al. 2018): grammar, refusals, the
objective against its formula, gradients to the log-variances, the s-free early-stopping
criterion, the reported combination, and a noisy term being down-weighted."""

from __future__ import annotations

import json
import math

import pytest
import torch

from salloss import losses as L
from salloss.cli import main
from salloss.errors import ConfigError, DataError
from salloss.losses.combined import CombinedLoss
from salloss.losses.learned import combination
from salloss.losses.spec import Term, format_terms

LC1_LEARNED = "learned(kld, cc) - nss"
LC2_LEARNED = "learned(kld, cc, df, gm, sigmse(lam=0.55)) - nss + r"


# -- grammar ------------------------------------------------------------------------------
def test_learned_spec_parses_into_marked_terms_with_directions():
    terms = L.parse("learned(kld, cc, sigmse(lam=0.55)) - nss + r")
    assert [(t.label, t.coef, t.learned) for t in terms] == [
        ("kld", 1.0, True), ("cc", -1.0, True), ("sigmse(lam=0.55)", 1.0, True),
        ("nss", -1.0, False), ("r", 1.0, False),
    ]
    assert dict(terms[2].params) == {"lam": 0.55, "k": 10.0}


@pytest.mark.parametrize(
    ("text", "canonical", "ident"),
    [
        (" learned( kld ,cc )−nss", LC1_LEARNED, "lwkld_lwcc_negnss"),
        ("+learned(mse, ae)", "learned(mse, ae)", "lwmse_lwae"),
        ("r + learned(focal(gamma=2), sigmse(lam=.25))",
         "r + learned(focal, sigmse(lam=0.25))", "r_lwfocal_lwsigmse-lam0.25"),
        ("10*kld + learned(cc, mse) - nss", "10*kld + learned(cc, mse) - nss",
         "10kld_lwcc_lwmse_negnss"),
    ],
)
def test_learned_canonical_form_and_id(text, canonical, ident):
    assert L.canonical(text) == canonical
    assert L.parse(canonical) == L.parse(text)
    assert L.spec_id(text) == ident


def test_learned_specs_never_share_an_id_or_key_with_fixed_ones():
    assert L.spec_id("learned(kld, cc)") != L.spec_id("kld - cc")
    assert L.parse("learned(kld, cc)") != L.parse("kld - cc")
    # What the report matches paper rows on: one term's canonical text.
    assert format_terms((L.parse("learned(kld, cc)")[0],)) == "learned(kld)"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("learned(kld)", r"learned\(...\) needs at least two terms"),
        ("learned()", "expected a term name, got '\\)'"),
        ("learned(kld, nss)", "'nss' cannot be learned: nss is an unbounded similarity.*"
                              "'learned\\(kld, cc\\) - nss'"),
        ("learned(kld, r)", "'r' cannot be learned: r is a regularizer.*fixed strength"),
        ("learned(10*kld, cc)", r"no signs or coefficients inside learned\(...\)"),
        ("learned(kld, -cc)", r"no signs or coefficients inside learned\(...\)"),
        ("- learned(kld, cc)", r"a learned\(...\) group cannot be negated"),
        ("2*learned(kld, cc)", r"a learned\(...\) group takes no coefficient"),
        ("learned(kld, learned(cc, mse))", "cannot be nested"),
        ("learned(kld, cc) + learned(mse, ae)", r"only one learned\(...\) group per spec"),
        ("learned(kld, cc) + kld", "term 'kld' appears twice"),
        ("learned kld", "learned needs the list of terms"),
        ("learned(kld cc)", r"expected ',' or '\)' in learned\(...\), got 'cc'"),
        ("learned(kld, cc", "spec ends where"),
        ("learned(kld, sigmse)", "sigmse needs lam"),
        ("learned(kld, kdl)", "unknown term 'kdl'"),
    ],
)
def test_bad_learned_specs_are_refused_with_a_message(spec, message):
    with pytest.raises(ConfigError, match=message):
        L.parse(spec)


def test_learned_refusal_points_at_the_term():
    with pytest.raises(ConfigError) as err:
        L.parse("learned(kld, cc, nss)")
    line, caret = str(err.value).splitlines()[-2:]
    assert caret.index("^") == line.index("nss")


# -- the objective ------------------------------------------------------------------------
def _set_log_vars(loss: CombinedLoss, values: list[float]) -> None:
    with torch.no_grad():
        loss.weighting.log_vars.copy_(torch.tensor(values))


def test_objective_matches_the_formula_and_parts_stay_raw(make_maps):
    pred, density, fix = make_maps()
    loss = L.build(LC1_LEARNED)
    assert loss.activation == "sigmoid"  # kld is a distribution term
    assert L.build("learned(mse, cc)").activation == "relu"
    assert loss.weighting.labels == ("kld", "cc")
    assert torch.equal(loss.weighting.log_vars.detach(), torch.zeros(2))  # weights start at 1
    s_kld, s_cc = 0.7, -1.3
    _set_log_vars(loss, [s_kld, s_cc])
    total, parts = loss.breakdown(pred, density, fix)
    kld, cc, nss = L.kld(pred, density), L.cc(pred, density), L.nss(pred, fix)
    expected = (0.5 * math.exp(-s_kld) * kld + 0.5 * s_kld
                + 0.5 * math.exp(-s_cc) * (1 - cc) + 0.5 * s_cc - nss)
    assert float(total.detach()) == pytest.approx(float(expected), rel=1e-6)
    assert float(parts["cc"]) == pytest.approx(float(cc))  # raw cc, not 1 − cc
    assert set(loss.last_terms) == {"kld", "cc", "nss"}


def test_gradients_reach_the_log_variances_and_the_prediction(make_maps):
    pred, density, fix = make_maps(dtype=torch.float32)
    pred.requires_grad_(True)
    loss = L.build("learned(kld, cc, mse)")
    _set_log_vars(loss, [0.2, -0.4, 1.1])
    loss(pred, density, fix).backward()
    grad = loss.weighting.log_vars.grad
    p = pred.detach()
    values = [float(L.kld(p, density)), 1 - float(L.cc(p, density)), float(L.mse(p, density))]
    analytic = [0.5 * (1 - math.exp(-s) * v) for s, v in zip([0.2, -0.4, 1.1], values, strict=True)]
    assert grad.tolist() == pytest.approx(analytic, rel=1e-4)
    assert pred.grad is not None and float(pred.grad.abs().sum()) > 0
    assert loss.learned_parameters() == [loss.weighting.log_vars]
    assert L.build("mse").learned_parameters() == []


def test_learned_lc2_builds_and_backpropagates(make_maps, extractor):
    """The spec reported for the learned counterpart of LC2 (perceptual terms inside)."""
    pred, density, fix = make_maps(b=2, h=32, w=32, dtype=torch.float32)
    pred.requires_grad_(True)
    loss = L.build(LC2_LEARNED, center_bias=torch.rand(10, 10), vgg_weights="none")
    assert loss.weighting.labels == ("kld", "cc", "df", "gm", "sigmse(lam=0.55)")
    value = loss(pred, density, fix)
    assert torch.isfinite(value)
    value.backward()
    assert torch.isfinite(loss.weighting.log_vars.grad).all()
    assert (loss.weighting.log_vars.grad != 0).all() and float(pred.grad.abs().sum()) > 0
    assert all(p.grad is None for p in extractor.parameters())


def test_learned_coefficients_give_the_gradient_of_the_equivalent_fixed_spec(make_maps):
    """The reported combination IS what was trained: at the same s, the learned objective and
    the fixed spec of its effective coefficients have identical gradients w.r.t. the model."""
    pred, density, fix = make_maps()
    loss = L.build("learned(kld, cc, sigmse(lam=0.55)) - nss")
    _set_log_vars(loss, [0.3, -0.9, 1.7])
    found = loss.combination()
    c = found["effective_coefficients"]
    assert c["kld"] == pytest.approx(0.5 * math.exp(-0.3))
    assert c["cc"] == pytest.approx(-0.5 * math.exp(0.9))
    assert c["sigmse(lam=0.55)"] == pytest.approx(0.5 * math.exp(-1.7))
    assert c["nss"] == -1.0
    fixed = CombinedLoss(tuple(Term(t.name, c[t.label], t.params) for t in loss.components))
    grads = []
    for fn in (loss, fixed):
        p = pred.clone().requires_grad_(True)
        fn(p, density, fix).backward()
        grads.append(p.grad)
    assert torch.allclose(grads[0], grads[1], rtol=1e-9, atol=1e-12)
    # Normalised like LC1 (smallest magnitude 1), and the spec string says the same.
    norm = found["normalised_coefficients"]
    assert min(abs(v) for v in norm.values()) == pytest.approx(1.0)
    assert norm["cc"] / norm["kld"] == pytest.approx(c["cc"] / c["kld"])
    spec_terms = L.parse(found["equivalent_spec"])
    assert not any(t.learned for t in spec_terms)
    assert [t.coef for t in spec_terms] == pytest.approx(list(norm.values()), rel=1e-3)
    assert found["weights"] == pytest.approx({"kld": math.exp(-0.3), "cc": math.exp(0.9),
                                              "sigmse(lam=0.55)": math.exp(-1.7)})
    json.dumps(loss.describe())  # JSON-ready, with the combination
    assert loss.describe()["learned"]["equivalent_spec"] == found["equivalent_spec"]


def test_combination_needs_every_learned_log_variance():
    with pytest.raises(DataError, match="no learned log-variance for cc"):
        combination(L.parse(LC1_LEARNED), {"kld": 0.0})


# -- early-stopping criterion -------------------------------------------------------------
def test_criterion_is_the_profile_objective_and_ignores_the_log_variances():
    loss = L.build("learned(kld, cc) - nss + 2*mse")
    means = {"kld": 1.5, "cc": 0.6, "nss": 1.2, "mse": 0.05}
    expected = -1.2 + 2 * 0.05 + 0.5 * (1 + math.log(1.5)) + 0.5 * (1 + math.log(0.4))
    first = loss.criterion(means)
    _set_log_vars(loss, [5.0, -5.0])
    assert loss.criterion(means) == first == pytest.approx(expected)
    # ... and equals the learned objective minimised over s on those means.
    s = torch.linspace(-6, 6, 120001)
    grid = sum(torch.min(0.5 * torch.exp(-s) * v + 0.5 * s) for v in (1.5, 0.4))
    assert first == pytest.approx(float(grid) - 1.2 + 0.1, abs=1e-6)
    # A better term lowers it; a fixed spec's criterion is its weighted sum.
    assert loss.criterion({**means, "kld": 1.0}) < first
    assert L.build("10*kld - cc").criterion(means) == pytest.approx(10 * 1.5 - 0.6)


def test_state_round_trip_and_mismatch():
    a, b = L.build(LC1_LEARNED), L.build(LC1_LEARNED)
    _set_log_vars(a, [0.25, -0.5])
    b.weighting.load_state(a.weighting.state(), "last.pt")
    assert torch.equal(a.weighting.log_vars, b.weighting.log_vars)
    c = L.build("learned(kld, cc, mse)")
    with pytest.raises(DataError, match=r"last\.pt: no learned loss weights for 3 terms"):
        c.weighting.load_state(a.weighting.state(), "last.pt")


# -- a constructed case: the noisy term is down-weighted -------------------------------------
def _fit(noisy: bool, steps: int = 100) -> tuple[dict[str, float], dict[str, float]]:
    """Fit a free 16×16 map with learned(kld, nll): KLD against a fixed blob; NLL against
    fixations on the blob (clean) or fresh uniform noise every step (noisy)."""
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    density = torch.exp(-((yy - 5) ** 2 + (xx - 9) ** 2) / 8)[None, None].repeat(4, 1, 1, 1)
    loss = L.build("learned(kld, nll)")
    logits = torch.zeros(4, 1, 16, 16, requires_grad=True)
    opt = torch.optim.SGD([{"params": [logits], "lr": 20.0},
                           {"params": loss.learned_parameters()}], lr=0.2, momentum=0.9)
    for _ in range(steps):
        if noisy:
            fix = (torch.rand(4, 1, 16, 16, generator=g) < 0.05).float()
            fix[:, :, 0, 0] = 1
        else:
            fix = (density > 0.6).float()
        opt.zero_grad()
        loss(torch.sigmoid(logits), density, fix).backward()
        opt.step()
    return loss.weighting.weights(), loss.last_terms


def test_a_noisy_term_is_down_weighted():
    clean_w, clean_terms = _fit(noisy=False)
    noisy_w, noisy_terms = _fit(noisy=True)
    assert noisy_terms["nll"] > 1.5 * clean_terms["nll"]  # the construction: noise costs NLL
    assert noisy_w["nll"] < clean_w["nll"] / 1.5
    for w, terms in ((clean_w, clean_terms), (noisy_w, noisy_terms)):
        assert w["nll"] < 1.0 < w["kld"]  # moved from 1 towards 1/L: nll ≫ 1 ≫ kld
        assert w["nll"] == pytest.approx(1 / terms["nll"], rel=0.25)


# -- CLI -------------------------------------------------------------------------------------
def test_cli_check_and_list_show_the_learned_group(capsys):
    spec = "learned(kld, cc, sigmse(lam=0.55)) - nss + r"
    assert main(["losses", "check", spec]) == 0
    out = capsys.readouterr().out
    assert f"spec:       {spec}" in out and f"id:         {L.spec_id(spec)}" in out
    row = next(line for line in out.splitlines() if line.startswith("cc "))
    assert "learned (L = 1 − cc)" in row
    row = next(line for line in out.splitlines() if line.startswith("nss "))
    assert " -1 " in row
    assert "½·exp(−s)·L + ½·s" in out
    assert main(["losses", "check", "--json", LC1_LEARNED]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(t["label"], t["learned"], t["loss_form"]) for t in data["terms"]] == [
        ("kld", True, "kld"), ("cc", True, "1 − cc"), ("nss", False, None)]
    assert main(["losses", "list"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows["cc"].rstrip().endswith("1 − cc")
    assert rows["nss"].rstrip().endswith(" -") and rows["r"].rstrip().endswith(" -")
    assert rows["kld"].rstrip().endswith(" kld")


def test_cli_check_refuses_nss_in_a_learned_group(capsys):
    assert main(["losses", "check", "learned(kld, nss)"]) == 2
    assert "'nss' cannot be learned" in capsys.readouterr().err
