"""The loss-spec grammar (SPEC.md §2): `10*kld - 2*cc - nss + df + gm + sigmse(lam=0.55) + r`.

    spec   := [sign] item (sign item)*              sign := '+' | '-' | '−' (U+2212)
    item   := term | 'learned' '(' bare (',' bare)+ ')'
    term   := [number '*'] bare
    bare   := name ['(' key '=' number (',' key '=' number)* ')']

Whitespace is free; numbers are unsigned decimals (`10`, `0.5`, `.5`, `1e-3`); the sign comes
from the operator in front of the term. Training MINIMISES the spec, so similarities (`cc`,
`nss`) must carry a negative coefficient and losses a positive one; anything else is refused
with a `ConfigError` naming the problem.

`learned(...)` (at most one group, at least two terms, no signs or coefficients inside, '+'
in front) asks the trainer to LEARN the weight of each term inside, jointly with the model
(uncertainty weighting, Kendall, Gal & Cipolla, CVPR 2018; see `salloss.losses.learned`):
`learned(kld, cc, sigmse(lam=0.55)) - nss + r` minimises
½·e^(−s₁)·kld + ½·e^(−s₂)·(1 − cc) + ½·e^(−s₃)·sigmse + ½·(s₁ + s₂ + s₃) − nss + r.
Terms outside the group keep their fixed coefficients. A similarity inside is minimised as its
loss form (1 − cc); `nss` (unbounded) and the regularizer `r` are refused inside — see
`TermInfo.learned_refusal`.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NoReturn

from salloss.errors import ConfigError
from salloss.losses.registry import REGISTRY

_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>[-+−*(),=]))"
)
_MAX_ID = 100  # longer ids are shortened with a hash so they stay valid path components
LEARNED = "learned"  # the keyword of the learned-weights group


@dataclass(frozen=True)
class Term:
    """One signed, weighted term of a spec; `params` holds every parameter (defaults filled).

    `learned`: the term is inside the `learned(...)` group; its weight is learned in training
    and `coef` is only its direction (+1 loss, −1 similarity).
    """

    name: str
    coef: float
    params: Mapping[str, float] = field(default_factory=dict)
    learned: bool = False

    def __hash__(self) -> int:
        return hash((self.name, self.coef, tuple(sorted(self.params.items())), self.learned))

    @property
    def label(self) -> str:
        """The term as written canonically, without coefficient: 'kld', 'sigmse(lam=0.55)'.

        Parameters equal to their default are left out, so `focal(gamma=2)` is 'focal'.
        """
        shown = _shown_params(self)
        if not shown:
            return self.name
        return f"{self.name}({', '.join(f'{k}={_fmt(v)}' for k, v in shown.items())})"


def _shown_params(term: Term) -> dict[str, float]:
    info = REGISTRY[term.name]
    return {k: v for k, v in term.params.items() if info.params[k].default != v}


def _fmt(x: float) -> str:
    """Shortest exact text of a number: 10.0 → '10', 0.55 → '0.55'."""
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


class _Tokens:
    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.items: list[tuple[str, str, int]] = []
        pos = 0
        text = spec.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                bad = text[pos:].lstrip()[:1]
                where = len(text) - len(text[pos:].lstrip())
                self.fail(where, f"unexpected character {bad!r}")
            kind = m.lastgroup
            assert kind is not None
            self.items.append((kind, m.group(kind), m.start(kind)))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.items[self.i] if self.i < len(self.items) else None

    def next(self, expected: str) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            self.fail(len(self.spec.rstrip()), f"spec ends where {expected} was expected")
        self.i += 1
        return tok

    def fail(self, pos: int, message: str) -> NoReturn:
        raise ConfigError(
            f"bad loss spec {self.spec!r} at position {pos}: {message}\n"
            f"  {self.spec}\n  {' ' * pos}^"
        )


def _number(tokens: _Tokens, what: str) -> float:
    kind, text, pos = tokens.next(what)
    if kind != "number":
        tokens.fail(pos, f"expected {what}, got {text!r}")
    value = float(text)
    if not math.isfinite(value):
        tokens.fail(pos, f"{what} {text!r} is not a finite number")
    return value


def _unknown_term(tokens: _Tokens, name: str, pos: int) -> NoReturn:
    close = difflib.get_close_matches(name, REGISTRY, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    tokens.fail(pos, f"unknown term {name!r}{hint}; valid terms: {', '.join(REGISTRY)}")


def _params(tokens: _Tokens, name: str) -> dict[str, float]:
    info = REGISTRY[name]
    given: dict[str, float] = {}
    while True:
        kind, key, pos = tokens.next(f"a parameter of {name}")
        if kind == "op" and key == ")" and not given:
            break
        if kind != "name":
            tokens.fail(pos, f"expected a parameter name of {name}, got {key!r}")
        if key not in info.params:
            valid = ", ".join(info.params) or "none"
            tokens.fail(pos, f"unknown parameter {key!r} of {name}; valid parameters: {valid}")
        if key in given:
            tokens.fail(pos, f"parameter {key!r} of {name} given twice")
        kind, text, pos = tokens.next("'='")
        if text != "=":
            tokens.fail(pos, f"expected '=' after {key!r}, got {text!r}")
        value_pos = tokens.peek()[2] if tokens.peek() else pos
        value = _number(tokens, f"a number for {name}({key}=…)")
        if not info.params[key].valid(value):
            tokens.fail(value_pos, f"{name}({key}={_fmt(value)}) out of range: "
                                   f"need {info.params[key].rule}")
        given[key] = value
        kind, text, pos = tokens.next("',' or ')'")
        if text == ")":
            break
        if text != ",":
            tokens.fail(pos, f"expected ',' or ')' in the parameters of {name}, got {text!r}")
    return given


def _term(tokens: _Tokens, sign: float, in_group: bool = False) -> tuple[Term, int]:
    coef = 1.0
    kind, text, pos = tokens.next("a term")
    start = pos
    if in_group and (kind == "number" or text in ("+", "-", "−")):
        tokens.fail(pos, f"no signs or coefficients inside {LEARNED}(...): the weights are "
                         "learned, and a similarity is minimised as its loss form (1 − cc); "
                         "write e.g. 'learned(kld, cc)'")
    if kind == "number":
        coef = float(text)
        if not math.isfinite(coef) or coef == 0.0:
            tokens.fail(pos, f"coefficient {text!r} must be a finite non-zero number")
        kind, text, pos = tokens.next("'*'")
        if text != "*":
            tokens.fail(pos, f"expected '*' after the coefficient {_fmt(coef)}, got {text!r}")
        kind, text, pos = tokens.next("a term name")
    if kind != "name":
        tokens.fail(pos, f"expected a term name, got {text!r}")
    name = text
    if name == LEARNED:
        if in_group:
            tokens.fail(pos, f"{LEARNED}(...) groups cannot be nested")
        if start != pos:
            tokens.fail(start, f"a {LEARNED}(...) group takes no coefficient (its weights are "
                               "learned); write '+ learned(...)'")
        tokens.fail(pos, f"{LEARNED} needs the list of terms whose weights it learns, e.g. "
                         "'learned(kld, cc)'")
    if name not in REGISTRY:
        _unknown_term(tokens, name, pos)
    info = REGISTRY[name]
    given: dict[str, float] = {}
    nxt = tokens.peek()
    if nxt is not None and nxt[1] == "(":
        tokens.next("'('")
        given = _params(tokens, name)
    missing = [k for k in info.required if k not in given]
    if missing:
        examples = {"sigmse": "sigmse(lam=0.55)", "wbce": "wbce(w=0.7)"}
        example = f", e.g. {examples[name]}" if name in examples else ""
        tokens.fail(start, f"{name} needs {', '.join(missing)}{example}")
    params = {k: given.get(k, p.default) for k, p in info.params.items()}
    if in_group:
        if info.learned_refusal is not None:
            tokens.fail(start, f"'{name}' cannot be learned: {info.learned_refusal}")
        direction = -1.0 if info.higher_is_better else 1.0
        return Term(name, direction, MappingProxyType(params), learned=True), start
    return Term(name, sign * coef, MappingProxyType(params)), start


def _group(tokens: _Tokens) -> list[tuple[Term, int]]:
    """The terms of a `learned(...)` group; the keyword has been read, '(' comes next."""
    kind, text, pos = tokens.next("'('")
    if text != "(":
        tokens.fail(pos, f"expected '(' after {LEARNED}: write e.g. 'learned(kld, cc)'")
    terms = [_term(tokens, 1.0, in_group=True)]
    while True:
        kind, text, pos = tokens.next(f"',' or ')' in {LEARNED}(...)")
        if text == ")":
            break
        if text != ",":
            tokens.fail(pos, f"expected ',' or ')' in {LEARNED}(...), got {text!r}")
        terms.append(_term(tokens, 1.0, in_group=True))
    if len(terms) < 2:
        tokens.fail(terms[0][1], f"{LEARNED}(...) needs at least two terms: it learns their "
                                 "weights relative to each other (one learned weight would "
                                 "only rescale the learning rate)")
    return terms


def _is_group(tokens: _Tokens) -> bool:
    """True when the next tokens are `learned (`."""
    i = tokens.i
    return (i + 1 < len(tokens.items) and tokens.items[i][:2] == ("name", LEARNED)
            and tokens.items[i + 1][1] == "(")


def parse(spec: str) -> tuple[Term, ...]:
    """Parse and validate a loss spec; raise `ConfigError` (with a caret) on any problem.

    Refused: unknown terms or parameters, missing required parameters (`sigmse` needs `lam`,
    `wbce` needs `w`), out-of-range or non-finite numbers, zero coefficients, a term repeated
    with the same parameters, a similarity with a positive coefficient (`+cc` would be
    minimised) and a loss with a negative one (`-mse` would be maximised). For `learned(...)`:
    a second group, a negated or scaled group, signs/coefficients inside, fewer than two terms,
    and terms that cannot be learned (`nss`, `r`). The terms of the group are returned in
    place, marked `learned=True`.
    """
    if not isinstance(spec, str):
        raise ConfigError(f"loss spec must be a string, got {type(spec).__name__}")
    tokens = _Tokens(spec)
    if tokens.peek() is None:
        raise ConfigError(f"empty loss spec; write terms such as 'kld' or '10*kld - 2*cc - nss'. "
                          f"Valid terms: {', '.join(REGISTRY)}")
    terms: list[Term] = []
    seen: dict[tuple[str, tuple[tuple[str, float], ...]], int] = {}
    first = True
    group_at: int | None = None
    while tokens.peek() is not None:
        kind, text, pos = tokens.peek()
        sign = 1.0
        if text in ("+", "-", "−"):
            tokens.next("a sign")
            sign = -1.0 if text in ("-", "−") else 1.0
        elif not first:
            tokens.fail(pos, f"expected '+' or '-' between terms, got {text!r}")
        first = False
        if _is_group(tokens):
            at = tokens.peek()[2]  # type: ignore[index]
            if sign < 0:
                tokens.fail(at, f"a {LEARNED}(...) group cannot be negated: its terms are "
                                "minimised (similarities as 1 − x); write '+ learned(...)'")
            if group_at is not None:
                tokens.fail(at, f"only one {LEARNED}(...) group per spec (the first is at "
                                f"position {group_at}); put every learned term in it")
            group_at = at
            tokens.next(LEARNED)
            items = _group(tokens)
        else:
            items = [_term(tokens, sign)]
        for term, at in items:
            info = REGISTRY[term.name]
            if not term.learned and info.higher_is_better and term.coef > 0:
                tokens.fail(at, f"'{term.label}' is a similarity (higher is better): a "
                                f"positive coefficient would minimise it; write "
                                f"'-{term.label}'")
            if not term.learned and not info.higher_is_better and term.coef < 0:
                tokens.fail(at, f"'{term.label}' is a loss (lower is better): a negative "
                                f"coefficient would maximise it; write '+ {term.label}'")
            key = (term.name, tuple(sorted(term.params.items())))
            if key in seen:
                tokens.fail(at, f"term '{term.label}' appears twice; merge the coefficients")
            seen[key] = at
            terms.append(term)
    return tuple(terms)


def format_terms(terms: tuple[Term, ...]) -> str:
    """Terms back to canonical spec text: '10*kld - 2*cc - nss + r', 'learned(kld, cc) - nss'.

    Consecutive learned terms form one `learned(...)` group (as `parse` returns them).
    """
    parts: list[str] = []
    i = 0
    while i < len(terms):
        t = terms[i]
        if t.learned:
            j = i
            while j < len(terms) and terms[j].learned:
                j += 1
            body = f"{LEARNED}({', '.join(u.label for u in terms[i:j])})"
            parts.append(body if i == 0 else f"+ {body}")
            i = j
            continue
        mag = abs(t.coef)
        body = t.label if mag == 1.0 else f"{_fmt(mag)}*{t.label}"
        if i == 0:
            parts.append(f"-{body}" if t.coef < 0 else body)
        else:
            parts.append(f"{'-' if t.coef < 0 else '+'} {body}")
        i += 1
    return " ".join(parts)


def canonical(spec: str) -> str:
    """The canonical text of a spec: whitespace, number formats and default parameters
    normalised, term order kept (`10 * kld−2*cc` → '10*kld - 2*cc')."""
    return format_terms(parse(spec))


def spec_id(spec: str) -> str:
    """A stable, filesystem-safe id of a spec (characters [A-Za-z0-9.-_]), used in artefact paths.

    One id per canonical spec: 'mse', 'sigmse-lam0.55_r', '10kld_neg2cc_negnss' ('neg' marks a
    negative coefficient, '-key value' a non-default parameter, '_' separates terms, 'lw' marks
    a term of the learned-weights group: 'learned(kld, cc) - nss' → 'lwkld_lwcc_negnss'). Term
    order is kept. Ids longer than 100 characters keep a prefix plus a hash of the spec.
    """
    terms = parse(spec)
    pieces = []
    for t in terms:
        mag = abs(t.coef)
        if t.learned:
            piece = "lw" + t.name
        else:
            piece = ("neg" if t.coef < 0 else "") + ("" if mag == 1.0 else _fmt(mag)) + t.name
        for k, v in _shown_params(t).items():
            piece += f"-{k}{_fmt(v)}"
        pieces.append(piece.replace("+", ""))
    ident = "_".join(pieces)
    if len(ident) > _MAX_ID:
        digest = hashlib.sha1(format_terms(terms).encode()).hexdigest()[:12]
        ident = f"{ident[: _MAX_ID - 14]}-h{digest}"
    return ident
