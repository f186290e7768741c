"""The figure pipeline: experiment configs → cached results → one module per figure → files.

``make(["6", "V"], scale="smoke", out="paper_figures")`` runs each figure's experiment config
(``simulations/CONFIG.toml`` at that scale; cached by ``varprop.experiments``), builds the figure
from the results (figure modules never compute) and writes ``figureID.png`` and ``.pdf``.

A module's ``CONFIG`` is one config name (``build`` gets its results) or a tuple of names
(``build`` gets {name: results}); a module with a tuple may also name ``OPTIONAL`` configs,
trained and included in its results only when their data are present (``sweep.data_present``:
CIFAR-10's files). The training experiments of every figure asked for are trained first,
together (``varprop.training.sweep``, ``jobs`` processes). Table 1 and the claims (TEXTS) are
modules with ``write(results, out, digests)`` in place of ``build``: they write Markdown (and
LaTeX).
"""
from __future__ import annotations

import importlib
import time
from pathlib import Path

FIGURES = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "J", "V", "T",
           "TABLE1", "CLAIMS")
TEXTS = ("TABLE1", "CLAIMS")   # written as text (Markdown, LaTeX) by the module's ``write``
DEFAULT_OUT = Path("paper_figures")


def module(fig_id: str):
    if fig_id not in FIGURES:
        raise ValueError(f"unknown figure {fig_id!r}; choose from: {', '.join(FIGURES)}")
    name = fig_id.lower() if fig_id in TEXTS else f"fig{fig_id.lower()}"
    return importlib.import_module(f"{__name__}.{name}")


def config_names(mod) -> tuple[str, ...]:
    return mod.CONFIG if isinstance(mod.CONFIG, tuple) else (mod.CONFIG,)


def parse_only(text) -> list[str]:
    """'6,7,J' → ['6', '7', 'J'] (case-insensitive), in the given order, without repeats."""
    if text is None:
        return list(FIGURES)
    ids = []
    for part in str(text).split(","):
        part = part.strip().upper()
        if not part:
            continue
        module(part)
        if part not in ids:
            ids.append(part)
    if not ids:
        raise ValueError(f"no figure named; choose from: {', '.join(FIGURES)}")
    return ids


def make(only=None, scale: str = "smoke", out=DEFAULT_OUT, log=None,
         formats=("png", "pdf"), jobs: int = 1, recompute: bool = False) -> list[dict]:
    """Make the figures (files of the given formats); return per figure {"id", "paths",
    "seconds", "digests"}. ``recompute``: compute every result anew, cached or not."""
    from .. import experiments
    from ..training import sweep

    ids = parse_only(only) if not isinstance(only, list) else [i for i in parse_only(",".join(only))]
    if scale not in experiments.SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of: {', '.join(experiments.SCALES)}")
    mods = [(i, module(i)) for i in ids]
    configs = {}
    for _, m in mods:   # check every config before running anything
        for name in config_names(m):
            configs[name] = experiments.load_config(name, scale)
        for name in getattr(m, "OPTIONAL", ()):   # only when its data are present
            optional = experiments.load_config(name, scale)
            if sweep.data_present(optional):
                configs[name] = optional
    training = {n: {k: v for k, v in c.items() if k != "kind"} for n, c in configs.items()
                if c["kind"] == experiments.TRAINING}
    sweep.run_all(training, scale, jobs, log=log or print, recompute=recompute)
    results, done = {}, []
    from . import style
    for fig_id, mod in mods:
        t0 = time.perf_counter()
        names = config_names(mod) + tuple(n for n in getattr(mod, "OPTIONAL", ()) if n in configs)
        for name in names:
            if name not in results:
                results[name] = experiments.run(name, scale, log=log or print,
                                                recompute=recompute)[0]
        res = (results[mod.CONFIG] if isinstance(mod.CONFIG, str) else
               {n: results[n] for n in names})
        digests = mod.digests(res)
        if hasattr(mod, "write"):
            paths = mod.write(res, out, digests)
        else:
            paths = style.save(mod.build(res), out, f"figure{fig_id}", digests, formats)
        rec = {"id": fig_id, "paths": [str(p) for p in paths],
               "seconds": time.perf_counter() - t0, "digests": digests}
        done.append(rec)
        if log:
            log(f"figure {fig_id}: {', '.join(rec['paths'])} ({rec['seconds']:.1f} s)")
    return done
