"""The figure pipeline: experiment configs → cached results → one module per figure → files.

``make(["6", "V"], scale="smoke", out="paper_figures")`` runs each figure's experiment config
(``simulations/CONFIG.toml`` at that scale; cached by ``varprop.experiments``), builds the figure
from the results (figure modules never compute) and writes ``figureID.png`` and ``.pdf``.
"""
from __future__ import annotations

import importlib
import time
from pathlib import Path

FIGURES = ("1", "5", "6", "7", "8", "J", "V")
DEFAULT_OUT = Path("paper_figures")


def module(fig_id: str):
    if fig_id not in FIGURES:
        raise ValueError(f"unknown figure {fig_id!r}; choose from: {', '.join(FIGURES)}")
    return importlib.import_module(f"{__name__}.fig{fig_id.lower()}")


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
         formats=("png", "pdf")) -> list[dict]:
    """Make the figures (files of the given formats); return per figure {"id", "paths",
    "seconds", "digests"}."""
    from .. import experiments

    ids = parse_only(only) if not isinstance(only, list) else [i for i in parse_only(",".join(only))]
    if scale not in experiments.SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of: {', '.join(experiments.SCALES)}")
    mods = [(i, module(i)) for i in ids]
    for _, m in mods:   # check every config before running anything
        experiments.load_config(m.CONFIG, scale)
    results, done = {}, []
    from . import style
    for fig_id, mod in mods:
        t0 = time.perf_counter()
        if mod.CONFIG not in results:
            results[mod.CONFIG] = experiments.run(mod.CONFIG, scale)[0]
        res = results[mod.CONFIG]
        fig = mod.build(res)
        digests = mod.digests(res)
        paths = style.save(fig, out, f"figure{fig_id}", digests, formats)
        rec = {"id": fig_id, "paths": [str(p) for p in paths],
               "seconds": time.perf_counter() - t0, "digests": digests}
        done.append(rec)
        if log:
            log(f"figure {fig_id}: {', '.join(rec['paths'])} ({rec['seconds']:.1f} s)")
    return done
