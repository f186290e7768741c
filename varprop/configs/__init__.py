"""The experiment and training configs that ship with varprop: ``varprop/configs/NAME.toml``.

They are package data (``setup.cfg``), so a source checkout, an editable install and a
non-editable one find them the same way, from any working directory. ``path`` is the one
function that finds a config by name (``varprop figures`` through ``engine.load_config``,
``varprop train NAME``); what the files hold: ``README.md`` here.
"""
from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent


def path(name: str, folder=None) -> Path:
    """The config NAME: ``folder/NAME.toml``, by default the package's own (``FOLDER``)."""
    return Path(FOLDER if folder is None else folder) / f"{name}.toml"


def names() -> list[str]:
    """Every config the package ships, sorted."""
    return sorted(p.stem for p in FOLDER.glob("*.toml"))


__all__ = ["FOLDER", "names", "path"]
