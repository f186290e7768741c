"""Table 1: final test error (%) of the five 5-hidden-layer models on Shapeset-3×2, MNIST and
Fashion-MNIST (our stand-in for CIFAR-10), and on CIFAR-10 itself when its files are present
(``OPTIONAL``: the results then hold "train_cifar10"), each ± its binomial standard error, beside
the paper's value; per column the best model, and every model not significantly worse than it
(p = 0.005, as in the paper), in bold.

The numbers (errors, standard errors, z-tests, bold decisions, scale facts) come from
``varprop.summaries`` (``error_table``, ``scale_facts``), the same functions the claims and
Figures 11 and 12 read; ``table`` puts them beside the paper's values, ``markdown`` and ``latex``
only format. ``write`` puts OUT/table1.md and OUT/table1.tex (a base-LaTeX ``tabular`` fragment
for ``\\input``) in place atomically.
"""
from __future__ import annotations

import math
from pathlib import Path

from .. import summaries
from ..datasets.cache import write_bytes_atomic
from . import style

CONFIG = ("train_shapeset", "train_mnist", "train_fashion")
MODELS = ("Softsign", "Softsign N", "Tanh", "Tanh N", "Sigmoid")     # the paper's row order
# (config, our data set's name, the paper's column it is compared with)
COLUMNS = (("train_shapeset", "Shapeset-3×2", "Shapeset"),
           ("train_mnist", "MNIST", "MNIST"),
           ("train_fashion", "Fashion-MNIST", "CIFAR-10"))
STAND_IN = {"train_fashion": "CIFAR-10"}      # our column that replaces one of the paper's
# trained and shown only when CIFAR-10's files are present (no registry ships them)
OPTIONAL = ("train_cifar10",)
CIFAR_COLUMN = ("train_cifar10", "CIFAR-10", "CIFAR-10")
ALPHA = summaries.ALPHA                       # the paper's significance level

# The paper's Table 1, test error (%), copied from PAPER.md (Small-ImageNet is not obtainable
# here, so it has no column of ours).
PAPER = {
    "Shapeset": {"Softsign": 16.27, "Softsign N": 16.06, "Tanh": 27.15, "Tanh N": 15.60,
                 "Sigmoid": 82.61},
    "MNIST": {"Softsign": 1.64, "Softsign N": 1.72, "Tanh": 1.76, "Tanh N": 1.64,
              "Sigmoid": 2.21},
    "CIFAR-10": {"Softsign": 55.78, "Softsign N": 53.8, "Tanh": 55.9, "Tanh N": 52.92,
                 "Sigmoid": 57.28},
    "Small-ImageNet": {"Softsign": 69.14, "Softsign N": 68.13, "Tanh": 70.58, "Tanh N": 68.57,
                       "Sigmoid": 70.66},
}
DIVERGED_MARK = "†"


# --------------------------------------------------------------------------------------------
# The table's numbers, from varprop.summaries

def columns_of(res: dict) -> tuple:
    """The table's columns for these results: COLUMNS, then CIFAR-10's when it was trained."""
    return COLUMNS + ((CIFAR_COLUMN,) if CIFAR_COLUMN[0] in res else ())


def table(res: dict, models=MODELS, columns=None, alpha: float = ALPHA) -> dict:
    """The whole table: {"columns": [{"config", "name", "paper_column", "best", "cells":
    {model: summaries.error_table's cell + "paper"}}], "models", "alpha"}; ``columns``
    (config, name, paper column) defaults to ``columns_of(res)``."""
    columns = columns_of(res) if columns is None else columns
    numbers = summaries.error_table(res, [config for config, _, _ in columns], models, alpha)
    cols = []
    for config, name, paper_col in columns:
        col = numbers[config]
        cells = {m: {**c, "paper": PAPER[paper_col][m]} for m, c in col["cells"].items()}
        cols.append({"config": config, "name": name, "paper_column": paper_col,
                     "best": col["best"], "cells": cells})
    return {"columns": cols, "models": tuple(models), "alpha": alpha}


# --------------------------------------------------------------------------------------------
# Formatting

def hidden_text(widths) -> str:
    """A run's hidden layers' widths (``summaries.scale_facts``' "hidden") as text: '5 × 32'
    when all alike, else '32-64-32'."""
    hidden = list(widths)
    if hidden and len(set(hidden)) == 1:
        return f"{len(hidden)} × {hidden[0]}"
    return "-".join(map(str, hidden))


def _num(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{x:.2f}"


def _rate(x: float) -> str:
    return f"{x:g}"


def _hidden_summary(facts: dict) -> str:
    hidden = {m: hidden_text(h) for m, h in facts["hidden"].items()}
    kinds = sorted(set(hidden.values()))
    if len(kinds) == 1:
        return kinds[0]
    return ", ".join(f"{m} {h}" for m, h in hidden.items())


def _scale_lines(res: dict, t: dict) -> list[str]:
    """One plain-text line per data set: widths, updates, examples, test size, rate grid."""
    lines = []
    for col in t["columns"]:
        f = summaries.scale_facts(res[col["config"]], t["models"])
        line = (f"{col['name']}: hidden layers {_hidden_summary(f)} units; "
                f"{f['updates']:,} updates of minibatches of {f['batch_size']} "
                f"({f['examples']:,} examples seen); test error on n = {f['n_test']:,} test "
                f"examples; learning rate chosen on validation error from "
                f"{{{', '.join(map(_rate, f['grid']))}}} by successive halving (budgets "
                f"{', '.join(f'{b:,}' for b in f['budgets'])} updates)")
        if f["done"]:
            line += "; stopped early: " + ", ".join(
                f"{m} after {u:,} updates ({e:,} examples)" for m, (u, e) in f["done"].items())
        lines.append(line + ".")
    return lines


def _diverged_lines(t: dict) -> list[str]:
    out = []
    for col in t["columns"]:
        for m, c in col["cells"].items():
            if c["diverged"]:
                at = "no evaluation" if c["update"] is None else f"update {c['update']:,}"
                out.append(f"{col['name']}, {m}: diverged; its last test error ({at}) is shown, "
                           f"and it takes no part in the significance test")
    return out


BOLD_NOTE = ("Bold: per column the lowest error, and every model whose error is not "
             "significantly higher than it at p = 0.005 (two-sided z-test on the difference "
             "of two binomial proportions, z = (p1 − p2)/sqrt(se1² + se2²)), as in the paper.")
SE_NOTE = "±: binomial standard error sqrt(p(1 − p)/n) of the error p over n test examples."
STAND_IN_NOTE = ("Fashion-MNIST stands in for CIFAR-10 (no package registry ships CIFAR-10): "
                 "the paper value beside it is the paper's CIFAR-10 error, a different task, "
                 "not a like-for-like comparison.")
CIFAR_NOTE = ("CIFAR-10 (ours): trained on the official batches, found on this machine; the "
              "Fashion-MNIST column, made where they are not, is kept beside it.")


def _has_cifar(t: dict) -> bool:
    return any(col["config"] == CIFAR_COLUMN[0] for col in t["columns"])


def markdown(res: dict, t: dict, digests=()) -> str:
    head = ["model"]
    for col in t["columns"]:
        head += [f"{col['name']} (ours)",
                 f"{col['paper_column']} (paper)"
                 if col["config"] not in STAND_IN else
                 f"{STAND_IN[col['config']]} (paper; {col['name']} stands in)"]
    rows = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for m in t["models"]:
        row = [m]
        for col in t["columns"]:
            c = col["cells"][m]
            text = f"{_num(c['error_pct'])} ± {_num(c['se_pct'])}"
            if c["bold"]:
                text = f"**{text}**"
            if c["diverged"]:
                text += f" {DIVERGED_MARK}"
            row += [text, f"{c['paper']:.2f}"]
        rows.append("| " + " | ".join(row) + " |")
    lr_head = ["model"] + [col["name"] for col in t["columns"]]
    lr_rows = ["| " + " | ".join(lr_head) + " |", "|---" + "|---:" * (len(lr_head) - 1) + "|"]
    for m in t["models"]:
        lr_rows.append("| " + " | ".join(
            [m] + [_rate(col["cells"][m]["lr"]) for col in t["columns"]]) + " |")
    notes = [BOLD_NOTE, SE_NOTE, STAND_IN_NOTE]
    notes += [CIFAR_NOTE] if _has_cifar(t) else []
    notes += [f"{DIVERGED_MARK} {d}." for d in _diverged_lines(t)]
    notes += ["Scale — " + s for s in _scale_lines(res, t)]
    notes.append("The paper: 1000 units per hidden layer; rates chosen after 5 million updates.")
    title = ("# Table 1 — test error (%) of 5-hidden-layer networks (\"N\": normalized "
             "initialisation)")
    parts = [title, "", *rows, "", *(f"- {n}" for n in notes), "",
             "## Chosen learning rates", "", *lr_rows, "", f"<!-- {style.note(digests)} -->", ""]
    return "\n".join(parts)


_TEX = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
        "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
        "×": r"$\times$", "±": r"$\pm$", "−": "$-$", "—": "---", "²": r"$^2$",
        "≥": r"$\geq$", "†": r"$^\dagger$"}


def tex_escape(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in str(text))


def latex(res: dict, t: dict, digests=()) -> str:
    lines = [f"% Table 1 (varprop): test error (%) of 5-hidden-layer networks; "
             f"{style.note(digests)}",
             "{% the table's size settings stay inside this group",
             (r"\small\setlength{\tabcolsep}{3.5pt}" if len(t["columns"]) <= 3 else   # CIFAR-10:
              r"\scriptsize\setlength{\tabcolsep}{2.5pt}")                    # 4 columns
             + r"\setlength{\parindent}{0pt}%",
             r"\begin{tabular}{l" + "rr" * len(t["columns"]) + "}", r"\hline"]
    top = [""] + [rf"\multicolumn{{2}}{{c}}{{{tex_escape(col['name'])}"
                  + (r"$^\ddagger$" if col["config"] in STAND_IN else "") + "}"
                  for col in t["columns"]]
    lines.append(" & ".join(top) + r" \\")
    sub = ["model"]
    for col in t["columns"]:
        sub += ["ours", "paper" + (r"$^\ddagger$" if col["config"] in STAND_IN else "")]
    lines += [" & ".join(sub) + r" \\", r"\hline"]
    for m in t["models"]:
        row = [tex_escape(m)]
        for col in t["columns"]:
            c = col["cells"][m]
            text = f"{tex_escape(_num(c['error_pct']))}$\\,\\pm\\,${tex_escape(_num(c['se_pct']))}"
            if c["bold"]:
                text = rf"\textbf{{{text}}}"
            if c["diverged"]:
                text += r"$^\dagger$"
            row += [text, f"{c['paper']:.2f}"]
        lines.append(" & ".join(row) + r" \\")
    lines += [r"\hline", r"\end{tabular}", "", r"\smallskip", r"{\footnotesize"]
    notes = [tex_escape(BOLD_NOTE), tex_escape(SE_NOTE),
             r"$^\ddagger$ " + tex_escape(STAND_IN_NOTE)]
    notes += [tex_escape(CIFAR_NOTE)] if _has_cifar(t) else []
    notes += [r"$^\dagger$ " + tex_escape(d) + "." for d in _diverged_lines(t)]
    notes += [tex_escape(s) for s in _scale_lines(res, t)]
    notes.append(tex_escape("The paper: 1000 units per hidden layer; rates chosen after "
                            "5 million updates."))
    lines += [n + r"\par" for n in notes]
    lines += ["}", "", r"\smallskip", r"\begin{tabular}{l" + "r" * len(t["columns"]) + "}",
              r"\hline",
              r"\multicolumn{" + str(len(t["columns"]) + 1) + r"}{l}{chosen learning rate} \\",
              " & ".join(["model"] + [tex_escape(col["name"]) for col in t["columns"]]) + r" \\",
              r"\hline"]
    for m in t["models"]:
        lines.append(" & ".join([tex_escape(m)] + [_rate(col["cells"][m]["lr"])
                                                   for col in t["columns"]]) + r" \\")
    lines += [r"\hline", r"\end{tabular}", "}", ""]
    return "\n".join(lines)


def write(res: dict, out, digests=()) -> list[Path]:
    """OUT/table1.md and OUT/table1.tex, each written atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t = table(res)
    paths = []
    for name, text in (("table1.md", markdown(res, t, digests)),
                       ("table1.tex", latex(res, t, digests))):
        write_bytes_atomic(out / name, text.encode("utf-8"))
        paths.append(out / name)
    return paths


def digests(res: dict) -> list[str]:
    return [res[config][m]["digest"] for config, _, _ in columns_of(res) for m in MODELS]
