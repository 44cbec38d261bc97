"""`salloss losses`: list the loss terms, validate a spec, print the paper's loss grid."""

from __future__ import annotations

import argparse
import json

from salloss.cli import SpecArgumentParser
from salloss.losses.learned import FORM, REFERENCE, form_of
from salloss.losses.paper import TABLES
from salloss.losses.registry import REGISTRY
from salloss.losses.spec import Term, format_terms, parse, spec_id


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `salloss losses {list,check,paper}` (plain `salloss losses` lists the registry)."""
    parser = subparsers.add_parser(
        "losses",
        help="list the loss terms, validate a loss spec",
        description=(
            "The loss library: 15 terms of the paper plus the center-bias regularizer `r`, "
            "combined as spec strings such as '10*kld - 2*cc - nss + r'. A 'learned(...)' "
            "group learns the weights of its terms during training (uncertainty weighting, "
            "Kendall et al. 2018), e.g. 'learned(kld, cc, sigmse(lam=0.55)) - nss + r'. "
            "Without a subcommand, lists the terms."
        ),
    )
    parser.set_defaults(func=_list, format="text")
    sub = parser.add_subparsers(dest="losses_command", metavar="SUBCOMMAND",
                                parser_class=SpecArgumentParser)

    p_list = sub.add_parser(
        "list",
        help="print the registry table",
        description="Print every loss term: name, category, direction, output activation, "
        "default parameters, formula, the paper's row name, and the loss form a "
        "learned(...) group weights ('-' where the term cannot be learned).",
    )
    p_list.add_argument("--format", choices=("text", "markdown"), default="text",
                        help="aligned text (default) or a Markdown table (for the README)")
    p_list.set_defaults(func=_list)

    p_check = sub.add_parser(
        "check",
        help="validate a loss spec and print its terms",
        description=(
            "Validate a loss spec and print its canonical form, id, output activation and "
            "terms. Exit status 2 with the reason when the spec is invalid. Grammar: terms "
            "joined by + or -, each [coef*]name[(key=value,...)], e.g. "
            "'10*kld - 2*cc - nss + df + gm + sigmse(lam=0.55) + r'. Similarities (cc, nss) "
            "need a negative coefficient. One group 'learned(t1, t2, ...)' (two or more "
            "terms, no signs or coefficients inside) has its weights learned during "
            "training: each term adds 0.5*exp(-s)*L + 0.5*s with a trained log-variance s "
            "(L = 1 - cc for cc; nss and r cannot be learned, keep them outside, e.g. "
            "'learned(kld, cc) - nss + r'). Quote the spec; one starting with '-' may be "
            "preceded by '--'."
        ),
    )
    p_check.add_argument("spec", nargs="+", help="the loss spec (words are joined by spaces)")
    p_check.add_argument("--json", action="store_true", help="print the result as JSON")
    p_check.set_defaults(func=_check)

    p_paper = sub.add_parser(
        "paper",
        help="print the paper's loss grid (Tables 1-4) with spec ids",
        description="Print the loss specs of the paper's tables with their row names and the "
        "filesystem-safe ids used in artefact paths.",
    )
    p_paper.add_argument("--table", choices=sorted(TABLES), action="append",
                         help="only this table (repeatable); default: all")
    p_paper.set_defaults(func=_paper)


def _render(header: list[str], rows: list[list[str]], fmt: str = "text") -> str:
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(out)


def _fmt_params(params: dict[str, float | None]) -> str:
    return ", ".join(f"{k}={'required' if v is None else f'{v:g}'}" for k, v in params.items())


def _list(args: argparse.Namespace) -> int:
    header = ["name", "category", "better", "activation", "parameters", "formula", "paper row",
              "learned form"]
    rows = [
        [
            info.name,
            info.category,
            "higher" if info.higher_is_better else "lower",
            info.activation,
            _fmt_params({k: p.default for k, p in info.params.items()}) or "-",
            info.formula,
            info.paper_row,
            info.learned_form or "-",
        ]
        for info in REGISTRY.values()
    ]
    print(_render(header, rows, args.format))
    return 0


def _check(args: argparse.Namespace) -> int:
    spec = " ".join(args.spec)
    terms = parse(spec)
    infos = [REGISTRY[t.name] for t in terms]
    activation = "sigmoid" if any(i.activation == "sigmoid" for i in infos) else "relu"
    needs = sorted({n for i in infos for n in i.needs})
    learned = any(t.learned for t in terms)
    if args.json:
        rows = [
            {"label": t.label, "name": t.name, "coef": t.coef, "params": dict(t.params),
             "category": REGISTRY[t.name].category}
            for t in terms
        ]
        extra = {}
        if learned:  # keys only for learned specs: other specs' JSON is unchanged
            extra = {"learned_form": FORM}
            for row, t in zip(rows, terms, strict=True):
                row.update(learned=t.learned,
                           loss_form=REGISTRY[t.name].learned_form if t.learned else None)
        print(json.dumps({
            "spec": format_terms(terms),
            "id": spec_id(spec),
            "activation": activation,
            "needs": needs,
            **extra,
            "terms": rows,
        }, indent=2))
        return 0
    print(f"spec:       {format_terms(terms)}")
    print(f"id:         {spec_id(spec)}")
    print(f"activation: {activation}")
    print(f"needs:      {', '.join(needs)}")
    rows = [
        [t.label, _coef_text(t), REGISTRY[t.name].category,
         "higher" if REGISTRY[t.name].higher_is_better else "lower",
         _fmt_params(dict(t.params)) or "-"]
        for t in terms
    ]
    print(_render(["term", "coef", "category", "better", "parameters"], rows))
    if learned:
        print(f"note: learned weights ({REFERENCE}): each learned term adds {FORM} with a "
              "log-variance s trained with the model (starting at 0); L is the term, or "
              "its loss form (1 − cc) for a similarity")
    if "center_bias" in needs:
        print("note: r needs the training split's center-bias map when the loss is built")
    if "vgg" in needs:
        print("note: df/gm load a frozen VGG-16 (weights 'imagenet', 'none' or a .pth path)")
    return 0


def _coef_text(term: Term) -> str:
    """'+10', '-2', or 'learned (L = 1 − cc)' for a term of the learned group."""
    if not term.learned:
        return f"{term.coef:+g}"
    offset, direction = form_of(term)
    return "learned" if direction > 0 else f"learned (L = {offset:g} − {term.label})"


def _paper(args: argparse.Namespace) -> int:
    rows = [
        [table, row, format_terms(parse(spec)), spec_id(spec)]
        for table in (args.table or sorted(TABLES))
        for row, spec in TABLES[table]
    ]
    print(_render(["table", "paper row", "spec", "id"], rows))
    return 0
