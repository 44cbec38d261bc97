"""Render a `Table` as Markdown (GitHub), CSV (one line per row, machine-readable) and LaTeX
(booktabs).

Layout: one line per loss with our numbers, and the paper's published numbers on a line under
it ("↳ paper"), so each of our values sits right above the value it reproduces. Marks: best
**bold**, second _italic_, third <ins>underlined</ins> in Markdown; ``\\textbf``,
``\\textit``, ``\\underline`` in LaTeX. ▲/▼ after a value: significantly better/worse than
the block's reference row (◆); see `salloss.report.significance`.
"""

from __future__ import annotations

import csv
import io
import math

from salloss.report.stats import Stat
from salloss.report.tables import Entry, Row, Table, fmt_stat, higher_is_better

PAPER_LABEL = "↳ paper"
REFERENCE_MARK = "◆"
SIG_MARK = {1: "▲", -1: "▼"}


def _arrow(metric: str) -> str:
    return "↑" if higher_is_better(metric) else "↓"


def cell_text(entry: Entry | None, metric: str) -> str:
    """The plain text of one cell: the paper's printed digits, or our mean (± half-width)."""
    if entry is None:
        return ""
    if metric in entry.texts:
        return entry.texts[metric]
    return fmt_stat(entry.stats.get(metric))


def row_label(row: Row) -> str:
    """The row's name with its marks: ◆ (the significance reference) and how its training
    ended (`salloss.report.convergence`: † capped while improving, ‡ best epoch first)."""
    label = f"{row.label} {REFERENCE_MARK}" if row.reference else row.label
    return f"{label} {row.marks}" if row.marks else label


def gap_text(row: Row, entry: Entry) -> str:
    """The gap cell of a line: '42 %' on our line of a row that has one, else ''."""
    if entry is not row.ours or row.gap is None:
        return ""
    return f"{100 * row.gap:.0f} %"


def _gap_head(table: Table) -> list[str]:
    return [f"{table.gap_metric} gap ↑"] if table.gap_metric else []


def _lines(row: Row) -> list[tuple[str, Entry]]:
    if row.ours is None:
        return [(row.label, row.paper)] if row.paper else []
    lines = [(row_label(row), row.ours)]
    if row.paper is not None:
        lines.append((PAPER_LABEL, row.paper))
    return lines


# --- Markdown ---------------------------------------------------------------------------------

_MD_MARK = {1: "**{}**", 2: "_{}_", 3: "<ins>{}</ins>"}


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(table: Table, heading: str = "###") -> str:
    """GitHub Markdown: heading, the table (block and section header lines), notes."""
    head = ["Loss", "id", *(f"{m} {_arrow(m)}" for m in table.metrics), *_gap_head(table)]
    out = [f"{heading} {_caption_title(table)}", "",
           "| " + " | ".join(head) + " |",
           "|" + ":--|:--|" + "--:|" * (len(head) - 2)]
    blank = [""] * (len(head) - 1)
    for block in table.blocks:
        if len(table.blocks) > 1 or block.title:
            out.append("| " + " | ".join([f"**{_md_escape(block.title)}**", *blank]) + " |")
        for section in block.sections:
            if section.title:
                out.append("| " + " | ".join([f"*{_md_escape(section.title)}*", *blank]) + " |")
            for row in section.rows:
                for label, entry in _lines(row):
                    ident = f"`{row.loss_id}`" if row.loss_id and entry is row.ours else ""
                    cells = []
                    for m in table.metrics:
                        text = _md_escape(cell_text(entry, m))
                        rank = entry.ranks.get(m)
                        text = _MD_MARK[rank].format(text) if rank in _MD_MARK else text
                        sig = SIG_MARK.get(entry.sig.get(m, 0))
                        cells.append(f"{text} {sig}" if sig else text)
                    if table.gap_metric:
                        cells.append(gap_text(row, entry))
                    out.append("| " + " | ".join([_md_escape(label), ident, *cells]) + " |")
    out.append("")
    out += [f"- {n}" for n in table.notes]
    return "\n".join(out) + "\n"


def _caption_title(table: Table) -> str:
    prefix = f"Table {table.key[-1]}" if table.key in ("table1", "table2", "table3",
                                                        "table4", "table5") else table.key
    return f"{prefix}: {table.title}"


# --- CSV --------------------------------------------------------------------------------------


def _num(stat: Stat | None) -> str:
    if stat is None:
        return ""
    return "nan" if math.isnan(stat.mean) else repr(stat.mean)


def to_csv(table: Table) -> str:
    """One line per row: our mean, CI half-width and the CI's ends (low, high), rank and
    significance mark (+1/−1/0 vs the block's reference; empty when untested), and the paper's
    value (as printed) and rank, per metric (empty where there is none); our numbers at full
    float precision."""
    header = ["table", "block", "section", "label", "loss_id", "spec", "dataset", "arch",
              "n_images", "seeds", "reference", "reference_map", "training_marks"]
    for m in table.metrics:
        header += [m, f"{m}_ci95", f"{m}_ci95_low", f"{m}_ci95_high", f"{m}_rank", f"{m}_sig",
                   f"{m}_paper", f"{m}_paper_rank"]
    if table.gap_metric:
        header.append(f"{table.gap_metric}_gap")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for block in table.blocks:
        for section in block.sections:
            for row in section.rows:
                line = [table.key, block.title, section.title, row.label, row.loss_id,
                        row.spec, row.dataset, row.arch,
                        "" if row.n_images is None else row.n_images,
                        " ".join(map(str, row.seeds)), "yes" if row.reference else "",
                        "yes" if row.reference_map else "", row.marks]
                for m in table.metrics:
                    ours = row.ours.stats.get(m) if row.ours else None
                    half = ours.half_width if ours else None
                    theirs = row.paper.stats.get(m) if row.paper else None
                    printed = row.paper.texts.get(m) if row.paper else None
                    sig = row.ours.sig.get(m) if row.ours else None
                    low = ours.low if ours else None
                    high = ours.high if ours else None
                    line += [_num(ours), "" if half is None else repr(half),
                             "" if low is None else repr(low),
                             "" if high is None else repr(high), _rank(row.ours, m),
                             "" if sig is None else str(sig),
                             printed or _num(theirs), _rank(row.paper, m)]
                if table.gap_metric:
                    line.append("" if row.gap is None else repr(row.gap))
                writer.writerow(line)
    return buf.getvalue()


def _rank(entry: Entry | None, metric: str) -> str:
    rank = entry.ranks.get(metric) if entry else None
    return "" if rank is None else str(rank)


# --- LaTeX ------------------------------------------------------------------------------------

_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
        "λ": r"$\lambda$", "±": r"$\pm$", "↑": r"$\uparrow$", "↓": r"$\downarrow$",
        "–": "--", "·": r"$\cdot$", "≥": r"$\geq$", "↳": "", "◆": r"$\diamond$",
        "▲": r"$\blacktriangle$", "▼": r"$\blacktriangledown$", "†": r"$^\dagger$",
        "‡": r"$^\ddagger$", "σ": r"$\sigma$", "ε": r"$\varepsilon$", "½": r"$\frac12$",
        "τ": r"$\tau$", "ü": r"\"u", "Ü": r"\"U", "×": r"$\times$", "√": r"$\surd$", "−": "-"}
_TEX_SIG = {1: r"$^{\blacktriangle}$", -1: r"$^{\blacktriangledown}$"}
_TEX_MARK = {1: r"\textbf{%s}", 2: r"\textit{%s}", 3: r"\underline{%s}"}


def tex_escape(text: str) -> str:
    """Escape LaTeX specials and map the few non-ASCII symbols the tables use."""
    return "".join(_TEX.get(c, c) for c in text)


def _tex_cell(entry: Entry, metric: str, small: bool) -> str:
    if metric in entry.texts:
        text = entry.texts[metric]
    else:
        stat = entry.stats.get(metric)
        text = fmt_stat(stat)
        if stat is not None and stat.half_width is not None and not math.isnan(stat.mean):
            mean, half = text.split(" ± ")
            text = f"{mean}{{\\scriptsize$\\pm${half}}}"
        else:
            text = tex_escape(text)
    rank = entry.ranks.get(metric)
    if rank in _TEX_MARK:
        text = _TEX_MARK[rank] % text
    text += _TEX_SIG.get(entry.sig.get(metric, 0), "")
    return f"{{\\footnotesize {text}}}" if small else text


def to_latex(table: Table) -> str:
    """A booktabs ``table`` environment (needs ``\\usepackage{booktabs,amssymb}``)."""
    n = len(table.metrics) + 1 + (1 if table.gap_metric else 0)
    caption = tex_escape(_caption_title(table) + ". " + " ".join(table.notes))
    out = [f"% {_caption_title(table)}",
           "% written by `salloss report`; needs \\usepackage{booktabs,amssymb}",
           r"\begin{table}[t]", r"\centering", r"\small", r"\setlength{\tabcolsep}{4pt}",
           f"\\caption{{{caption}}}", f"\\label{{tab:salloss-{table.key}}}",
           r"\begin{tabular}{l" + "r" * (n - 1) + "}", r"\toprule",
           " & ".join(["Loss", *(tex_escape(f"{m} {_arrow(m)}") for m in table.metrics),
                       *(tex_escape(h) for h in _gap_head(table))])
           + r" \\", r"\midrule"]
    for b, block in enumerate(table.blocks):
        if b:
            out.append(r"\midrule")
        if len(table.blocks) > 1 or block.title:
            out.append(f"\\multicolumn{{{n}}}{{l}}{{\\textbf{{{tex_escape(block.title)}}}}} \\\\")
        for section in block.sections:
            if section.title:
                out.append(f"\\multicolumn{{{n}}}{{l}}{{\\textit{{{tex_escape(section.title)}}}}}"
                           r" \\")
            for row in section.rows:
                for label, entry in _lines(row):
                    sub = label == PAPER_LABEL
                    name = r"\quad{\footnotesize paper}" if sub else tex_escape(label)
                    cells = [_tex_cell(entry, m, sub) for m in table.metrics]
                    if table.gap_metric:
                        cells.append(tex_escape(gap_text(row, entry)))
                    out.append(" & ".join([name, *cells]) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"
