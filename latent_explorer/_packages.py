"""The explorer's own top-level packages, ``app`` and ``models``, imported from this checkout
whatever the caller's folder holds.

A notebook's folder is first on ``sys.path``, so a ``models.py``, ``app.py`` or ``models/``
there would be found before the explorer's packages of the same names, and the user's own
``import models`` must keep finding theirs. So: every module of ``app`` and ``models`` is
imported here, from this checkout, up front (the explorer's lazy ``from models.x import y``
then finds ``models.x`` in ``sys.modules`` without looking at the top-level name), and where
another ``app`` or ``models`` is on the path, the top-level name is handed back to it.

What this cannot do: give both a user's package and the explorer a submodule of the same
name (``models.vae``, say). That case is reported as an ImportError naming both files.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
OWN = ("app", "models")


def _origin(module: ModuleType) -> Path | None:
    file = getattr(module, "__file__", None)
    return Path(file).resolve() if file else None


def is_ours(module: ModuleType) -> bool:
    """Whether ``module`` is one of this checkout's ``app``/``models`` modules."""
    origin = _origin(module)
    top = module.__name__.split(".", 1)[0]
    return origin is not None and origin.is_relative_to(ROOT / top)


def _theirs() -> dict[str, ModuleType]:
    """Modules already imported under our names that are not ours (the user's)."""
    return {
        name: module
        for name, module in list(sys.modules.items())
        if name.split(".", 1)[0] in OWN and module is not None and not is_ours(module)
    }


def _path_finds_other(name: str) -> bool:
    """Whether ``import name`` would find something other than ours: on today's sys.path, or
    in the current folder (a kernel puts it on sys.path only once the first cell runs)."""
    try:
        spec = importlib.machinery.PathFinder.find_spec(name, [os.getcwd(), *sys.path])
    except (ImportError, ValueError):
        return False
    if spec is None or spec.origin is None:
        return spec is not None  # a namespace package of that name: not ours
    return not Path(spec.origin).resolve().is_relative_to(ROOT / name)


def load_own_packages() -> None:
    """Import all of ``app`` and ``models`` from ROOT; leave the top-level names to the user's
    modules of those names where there are any."""
    if all(name in sys.modules and is_ours(sys.modules[name]) for name in OWN) and not any(
        _path_finds_other(name) for name in OWN
    ):
        _import_all()  # the usual case: run from the checkout, nothing shadows it
        return
    theirs = _theirs()
    for name in theirs:
        del sys.modules[name]
    sys.path.insert(0, str(ROOT))
    try:
        _import_all()
    finally:
        if sys.path and sys.path[0] == str(ROOT):
            del sys.path[0]
        clash = sorted(n for n in theirs if "." in n and n in sys.modules)
        shadowed = [name for name in OWN if name in theirs or _path_finds_other(name)]
        for name in shadowed:
            sys.modules.pop(name, None)  # `import models` finds theirs again
        if shadowed:
            _after_theirs()
        sys.modules.update({n: m for n, m in theirs.items() if n not in clash})
    if clash:
        where = ", ".join(f"{n} ({_origin(theirs[n])})" for n in clash)
        raise ImportError(
            f"latent_explorer: your modules {where} have the names of the explorer's own "
            f"modules in {ROOT}; rename your package (e.g. models -> mymodels) and restart "
            "the kernel"
        )


def _is_root(entry: str) -> bool:
    try:
        return Path(entry).resolve() == ROOT
    except (OSError, ValueError):
        return False


def _after_theirs() -> None:
    """Move this checkout to the end of ``sys.path``, so the user's folder comes first.

    Needed in a Jupyter kernel with the checkout on PYTHONPATH: ipykernel_launcher takes the
    current folder off ``sys.path`` and IPython puts it back (``''``) only before the first
    site-packages, so after PYTHONPATH's entries, the reverse of ``python script.py``, where the
    script's folder is first. Everything of ours is imported by now; ``latent_explorer`` and
    its submodules resolve through their own ``__path__``.
    """
    ours = [entry for entry in sys.path if entry and _is_root(entry)]  # '' is the user's
    sys.path[:] = [entry for entry in sys.path if entry not in ours] + ours


def _import_all() -> None:
    for name in OWN:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            if not info.name.endswith(".__main__"):  # `python -m app` would run the CLI
                importlib.import_module(info.name)
