"""The figure pipeline: experiment configs → the results store → one module per figure → files.

``make(["6", "V"], scale="smoke", out="paper_figures")`` has ``varprop.engine`` compute what the
store lacks of every asked figure's configs (``varprop/configs/CONFIG.toml`` at that scale; Dask
tasks), then reads the results and hands them to each figure's module, which only draws
(figure modules never compute), and writes ``figureID.png`` and ``.pdf``.

A module's ``CONFIG`` is one config name (``build`` gets its results) or a tuple of names
(``build`` gets {name: results}); a module with a tuple may also name ``OPTIONAL`` configs,
computed and included only when their data are present (``engine.data_present``: CIFAR-10's
files). Table 1 and the claims (TEXTS) are modules with ``write(results, out, digests)`` in
place of ``build``: they write Markdown (and LaTeX).
"""
from __future__ import annotations

import importlib
import time
from pathlib import Path

FIGURES = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "J", "V", "T", "S", "P",
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


def configs_of(ids, scale: str) -> list[str]:
    """Every config the figures ``ids`` read at ``scale`` (optional ones when their data are
    present), in order, without repeats."""
    from .. import engine

    names = []
    for i in ids:
        mod = module(i)
        names += list(config_names(mod))
        names += [n for n in getattr(mod, "OPTIONAL", ())
                  if engine.data_present(engine.load_config(n, scale))]
    return list(dict.fromkeys(names))


def make(only=None, scale: str = "smoke", out=DEFAULT_OUT, log=None,
         formats=("png", "pdf"), jobs: int | None = None, scheduler: str | None = None,
         store_root=None, recompute: bool = False) -> list[dict]:
    """Make the figures (files of the given formats); return per figure {"id", "paths",
    "seconds", "digests"}. The results come from the store (``store_root``), computed first
    where missing on ``jobs`` local workers or the cluster at ``scheduler``; ``recompute``:
    compute them all anew."""
    from .. import engine

    ids = parse_only(only) if not isinstance(only, list) else parse_only(",".join(only))
    if scale not in engine.SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of: {', '.join(engine.SCALES)}")
    names = configs_of(ids, scale)           # checks every config before running anything
    engine.run(names, scale, store_root, jobs=jobs, scheduler=scheduler, recompute=recompute,
               log=log or print)
    results = {n: engine.load(n, scale, store_root) for n in names}
    done = []
    from . import style
    for fig_id in ids:
        mod = module(fig_id)
        t0 = time.perf_counter()
        mine = [n for n in config_names(mod) + tuple(getattr(mod, "OPTIONAL", ())) if n in results]
        res = results[mod.CONFIG] if isinstance(mod.CONFIG, str) else {n: results[n] for n in mine}
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
