"""Old module paths, importable for one more release with a DeprecationWarning.

The package was reorganised so that its folders read as the pipeline (see the
README's Architecture section).  ``import optimizer.scenario`` and
``from optimizer.scenario import build_network`` keep working: a meta-path finder
serves each old name as a thin module whose attributes are looked up in the new
module(s) and warn on first use.  Remove this file in the release after next.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings

#: Old module -> the module(s) that now hold its public names (looked up in order).
MOVED: dict[str, tuple[str, ...]] = {
    "optimizer.cli_common": ("optimizer.cli.common",),
    "optimizer.cli_compare": ("optimizer.cli.compare",),
    "optimizer.cli_frontier": ("optimizer.cli.frontier",),
    "optimizer.cli_run": ("optimizer.cli.run",),
    "optimizer.checker_stock": ("optimizer.checker.stock",),
    "optimizer.checker_supply": ("optimizer.checker.supply",),
    "optimizer.inventory": ("optimizer.stock",),
    "optimizer.instances": ("optimizer.io.instances",),
    "optimizer.model.inventory": ("optimizer.model.pooled", "optimizer.strategies.pooled"),
    "optimizer.model.routing": ("optimizer.model.supply",),
    "optimizer.model.routes": ("optimizer.model.paths",),
    "optimizer.scenario": ("optimizer.runs.scenario",),
    "optimizer.overrides": ("optimizer.runs.overrides",),
    "optimizer.sweep": ("optimizer.runs.sweep",),
    "optimizer.runner": ("optimizer.runs.runner",),
    "optimizer.store": ("optimizer.runs.store",),
    "optimizer.compare": ("optimizer.runs.compare",),
}


class _MovedModule(types.ModuleType):
    """An old module path: attribute reads are served by the new module(s), with a warning."""

    def __init__(self, name: str, targets: tuple[str, ...]) -> None:
        super().__init__(name, f"Deprecated alias of {', '.join(targets)}.")
        self.__targets = targets

    def __getattr__(self, attr: str) -> object:
        if attr.startswith("__"):
            raise AttributeError(attr)
        for target in self.__targets:
            module = importlib.import_module(target)
            if hasattr(module, attr):
                warnings.warn(f"{self.__name__}.{attr} has moved to {target}.{attr}; "
                              f"{self.__name__} will be removed in the next release",
                              DeprecationWarning, stacklevel=2)
                return getattr(module, attr)
        raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}")


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _MovedModule(spec.name, MOVED[spec.name])

    def exec_module(self, module: types.ModuleType) -> None:
        warnings.warn(f"{module.__name__} has moved to {', '.join(MOVED[module.__name__])}",
                      DeprecationWarning, stacklevel=2)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if fullname in MOVED:
            return importlib.machinery.ModuleSpec(fullname, _Loader())
        return None


def install() -> None:
    """Register the finder (idempotent)."""
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.append(_Finder())
