"""Figure 11: test error during online training on Shapeset-3×2 for the six models of
train_shapeset (sigmoid at depths 5 and 4, tanh, softsign, each with the standard and — for
tanh and softsign — the normalized initialisation, "N"). As in the paper, the legend lists the
models from top to bottom in decreasing final error. The x axis is training progress: examples
seen (bottom) and updates (top)."""
from __future__ import annotations

import math
import textwrap
from collections import Counter

import numpy as np

from .. import summaries
from . import style
from .table1 import hidden_text

CONFIG = "train_shapeset"
MODELS = ("Sigmoid", "Sigmoid depth 4", "Tanh", "Tanh N", "Softsign", "Softsign N",
          "Tanh at 0.01")   # the last: standard init at Tanh N's rate (a control, not the paper's)
# one fixed line style per model, shared with Figure 12 (style.SERIES: greyscale-readable)
STYLE_INDEX = {"Sigmoid": 0, "Tanh": 1, "Tanh N": 2, "Softsign": 3, "Softsign N": 4,
               "Sigmoid depth 4": 5, "Tanh at 0.01": 6}
MAX_MARKERS = 12


def model_style(label: str) -> dict:
    colour, dash, marker = style.SERIES[STYLE_INDEX.get(label, 0) % len(style.SERIES)]
    return {"color": colour, "linestyle": dash, "marker": marker, "markersize": 3.5}


def by_final_error(results, labels) -> list[str]:
    """The labels from the highest final test error to the lowest (the paper's legend order);
    diverged models (whose final error is undefined) first, then models without any error."""
    def key(label):
        f = summaries.final_error(results[label])
        if f["diverged"]:
            return (0, 0.0)
        return (1, -f["error"]) if math.isfinite(f["error"]) else (2, 0.0)
    return sorted(labels, key=key)


def x_unit(results, labels) -> tuple[float, str]:
    """(divisor, name) for the examples-seen axis: millions, thousands or plain."""
    most = max(float(np.max(summaries.test_error_curve(results[lb])[0], initial=0.0))
               for lb in labels)
    if most >= 1e6:
        return 1e6, "millions of examples seen"
    if most >= 1e4:
        return 1e3, "thousands of examples seen"
    return 1.0, "examples seen"


def draw_errors(ax, results, labels, unit=None) -> None:
    """Test error (%) vs examples seen of each model, legend ordered by final error; a top
    axis gives the updates."""
    div, name = unit or x_unit(results, labels)
    for label in by_final_error(results, labels):
        r = results[label]
        x, err = summaries.test_error_curve(r)
        f = summaries.final_error(r)
        error = "no error" if not math.isfinite(f["error"]) else f"{100 * f['error']:.1f}%"
        text = (f"{label} (lr {f['lr']:g}): "
                + (f"diverged (last {error}, ×)" if f["diverged"] else error))
        st = model_style(label)
        ax.plot(x / div, err, label=text, markevery=max(1, math.ceil(len(x) / MAX_MARKERS)),
                **st)
        if f["diverged"] and f["update"] is not None:
            ax.plot([f["update"] * r["meta"]["config"]["batch_size"] / div],
                    [100 * f["error"]], marker="X", color=st["color"], markersize=7,
                    linestyle="none")
    batch = results[labels[0]]["meta"]["config"]["batch_size"]
    top = ax.secondary_xaxis("top", functions=(lambda v: v * div / batch,
                                               lambda u: u * batch / div))
    top.set_xlabel(f"updates (minibatches of {batch})")
    ax.set_xlabel(name)
    ax.set_ylabel("test error (%)")
    ax.set_ylim(bottom=0)
    ax.grid(True, color="0.9", linewidth=0.5)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False,
              title="final test error\n(top: highest)", title_fontsize=7, alignment="left")


def facts_line(results, labels, width: int = 130) -> str:
    """The scale facts of several models' runs, wrapped to lines of ``width`` characters:
    hidden layers (and the models that differ), updates, examples seen, test set size,
    learning-rate grid and tuning budget."""
    f = summaries.scale_facts(results, labels)
    hidden = {m: hidden_text(h) for m, h in f["hidden"].items()}
    common = Counter(hidden.values()).most_common(1)[0][0]
    parts = [f"hidden layers {common} units"]
    parts += [f"{m}: {h}" for m, h in hidden.items() if h != common]
    parts.append(f"{f['updates']:,} updates of minibatches of {f['batch_size']} "
                 f"({f['examples']:,} examples seen)")
    parts += [f"{m} stopped at update {u:,}" for m, (u, _) in f["done"].items()]
    grid = ", ".join(f"{g:g}" for g in f["grid"])
    parts.append(f"test error on {f['n_test']:,} test examples")
    parts.append(f"rates chosen on validation error from {{{grid}}} by successive halving "
                 f"(budgets {', '.join(f'{b:,}' for b in f['budgets'])} updates)")
    return textwrap.fill("; ".join(parts), width, break_long_words=False,
                         break_on_hyphens=False)


def rates_line(results, labels) -> str:
    return "chosen rates: " + ", ".join(f"{m} {summaries.final_error(results[m])['lr']:g}"
                                        for m in labels)


def drawn(results) -> list[str]:
    """MODELS in the results (the control is drawn when the config has it)."""
    return [m for m in MODELS if m in results]


def build(results):
    fig = style.figure(7.0, 4.4)
    ax = fig.subplots()
    models = drawn(results)
    draw_errors(ax, results, models)
    fig.suptitle("Test error during online training on Shapeset-3×2 (Figure 11)\n"
                 + facts_line(results, models, 122) + "\n" + rates_line(results, models),
                 fontsize=7)
    return fig


def digests(results):
    return [results[m]["digest"] for m in drawn(results)]

