"""The spec grammar: parsing, canonical text, ids, and refusals with messages naming the problem."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salloss import losses as L
from salloss.errors import ConfigError
from salloss.losses.paper import LC1, LC2, TABLE2, TABLE3, TABLE4, TABLES


def test_table2_has_the_papers_27_rows_in_order():
    assert len(TABLE2) == 27
    rows = [row for row, _ in TABLE2]
    assert len(set(rows)) == 27
    assert rows[0] == "MSE" and rows[-1] == "KLD + CC + NSS + DF + GM + SIG-MSE + R"
    specs = [spec for _, spec in TABLE2]
    assert len({L.canonical(s) for s in specs}) == 27  # no two rows are the same loss
    assert set(TABLE3) <= set(TABLE2) and set(TABLE4) <= set(TABLE2)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_paper_spec_parses_and_round_trips(table):
    for _, spec in TABLES[table]:
        terms = L.parse(spec)
        assert terms
        assert L.parse(L.canonical(spec)) == terms
        assert L.canonical(L.canonical(spec)) == L.canonical(spec)


def test_lc2_parses_to_the_papers_coefficients():
    terms = L.parse(LC2)
    assert [(t.label, t.coef) for t in terms] == [
        ("kld", 10.0), ("cc", -2.0), ("nss", -1.0), ("df", 1.0), ("gm", 1.0),
        ("sigmse(lam=0.55)", 1.0), ("r", 1.0),
    ]
    assert dict(terms[5].params) == {"lam": 0.55, "k": 10.0}
    assert dict(terms[6].params) == {"alpha": 0.1}


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("10 * kld−2*cc -nss", LC1),  # U+2212 minus, free whitespace
        ("+mse", "mse"),
        ("focal(gamma=2)", "focal"),  # defaults are elided
        ("focal(gamma=2.5)", "focal(gamma=2.5)"),
        ("0.5*sigmse( lam = .25 , k=4 )", "0.5*sigmse(lam=0.25, k=4)"),
        ("1e-3*r(alpha=1)", "0.001*r(alpha=1)"),
        ("-1.0*cc", "-cc"),
        ("-cc + mse", "-cc + mse"),
        ("sigmse(lam=0.25) + sigmse(lam=0.75)", "sigmse(lam=0.25) + sigmse(lam=0.75)"),
    ],
)
def test_canonical_form(text, canonical):
    assert L.canonical(text) == canonical


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty loss spec"),
        ("   ", "empty loss spec"),
        ("kdl", r"unknown term 'kdl' \(did you mean 'kld'\?\); valid terms: mse, ead"),
        ("focal(gama=1)", "unknown parameter 'gama' of focal; valid parameters: gamma"),
        ("kld(alpha=1)", "unknown parameter 'alpha' of kld; valid parameters: none"),
        ("sigmse", "sigmse needs lam, e.g. sigmse"),
        ("wbce", "wbce needs w"),
        ("sigmse(lam=1.5)", r"out of range: need 0 <= lam <= 1"),
        ("wmse(alpha=1)", "need alpha > 1"),
        ("wbce(w=abc)", "expected a number for wbce"),
        ("focal(gamma=-1)", "expected a number for focal"),
        ("sigmse(lam=0.5, lam=0.6)", "parameter 'lam' of sigmse given twice"),
        ("sigmse(lam=0.5", "spec ends where"),
        ("0*mse", "must be a finite non-zero number"),
        ("10 kld", r"expected '\*' after the coefficient 10"),
        ("kld cc", "expected '\\+' or '-' between terms"),
        ("kld +", "spec ends where a term was expected"),
        ("kld + - cc", "expected a term name, got '-'"),
        ("kld & cc", "unexpected character '&'"),
        ("+cc", "'cc' is a similarity .* would minimise it; write '-cc'"),
        ("10*kld + 2*cc - nss", "'cc' is a similarity"),
        ("-mse", "'mse' is a loss .* would maximise it"),
        ("kld - r", "'r' is a loss"),
        ("kld + 2*kld", "term 'kld' appears twice; merge the coefficients"),
        ("focal + focal(gamma=2)", "appears twice"),
    ],
)
def test_bad_specs_are_refused_with_a_message(spec, message):
    with pytest.raises(ConfigError, match=message):
        L.parse(spec)


def test_error_points_at_the_offending_position():
    with pytest.raises(ConfigError) as err:
        L.parse("10*kld - 2*cx")
    text = str(err.value)
    assert "at position 11" in text
    line, caret = text.splitlines()[-2:]
    assert line.strip() == "10*kld - 2*cx"
    assert caret.index("^") == line.index("cx")


def test_spec_ids_are_safe_unique_and_stable():
    ids = [L.spec_id(spec) for _, spec in TABLE2]
    assert len(set(ids)) == 27
    for i in ids:
        assert re.fullmatch(r"[A-Za-z0-9._-]+", i) and not i.startswith("-")
    # Stable: pinned values (artefact paths depend on them; changing one orphans results).
    assert L.spec_id("mse") == "mse"
    assert L.spec_id("-cc") == "negcc"
    assert L.spec_id("sigmse(lam=0.55) + r") == "sigmse-lam0.55_r"
    assert L.spec_id(LC2) == "10kld_neg2cc_negnss_df_gm_sigmse-lam0.55_r"
    # Same loss, different spelling → same id; different loss → different id.
    assert L.spec_id("10 * kld − 2*cc - 1*nss") == L.spec_id(LC1)
    assert L.spec_id("focal(gamma=2)") == L.spec_id("focal")
    assert L.spec_id("focal(gamma=3)") != L.spec_id("focal")
    assert L.spec_id("2*mse") != L.spec_id("mse")


def test_long_spec_ids_are_shortened_with_a_hash():
    long_a = " + ".join(f"wbce(w=0.{i})" for i in range(1, 10)) + " + mse"
    long_b = " + ".join(f"wbce(w=0.{i})" for i in range(1, 10)) + " + ae"
    a, b = L.spec_id(long_a), L.spec_id(long_b)
    assert len(a) <= 100 and len(b) <= 100 and a != b
    assert re.fullmatch(r"[A-Za-z0-9._-]+", a)


_term = st.sampled_from(sorted(L.REGISTRY)).flatmap(
    lambda name: st.tuples(
        st.just(name),
        st.sampled_from([1.0, 2.0, 0.5, 10.0, 0.125, 1e-3]),
        st.fixed_dictionaries({
            k: st.sampled_from([0.25, 0.5, 0.75]) if k in ("lam", "w")
            else st.sampled_from([1.5, 2.0, 3.0])
            for k, p in L.REGISTRY[name].params.items() if p.default is None or k != "k"
        }),
    )
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_term, min_size=1, max_size=5, unique_by=lambda t: t[0]))
def test_generated_specs_round_trip(terms):
    parts = []
    for name, coef, params in terms:
        sign = "-" if L.REGISTRY[name].higher_is_better else "+"
        args = ", ".join(f"{k}={v}" for k, v in params.items())
        parts.append(f"{sign} {coef}*{name}" + (f"({args})" if args else ""))
    spec = " ".join(parts)
    parsed = L.parse(spec)
    assert [t.name for t in parsed] == [t[0] for t in terms]
    for t, (_, coef, params) in zip(parsed, terms, strict=True):
        assert abs(t.coef) == coef
        assert all(t.params[k] == v for k, v in params.items())
    assert L.parse(L.canonical(spec)) == parsed
    assert L.spec_id(L.canonical(spec)) == L.spec_id(spec)
