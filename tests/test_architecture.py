"""The package layout is the pipeline: no module imports a layer above its own.

Layers, bottom to top (the README's Architecture section shows the same list):
data contracts -> input schema and readers -> network data -> model building ->
solver adapters -> solve strategies -> independent checker -> results and KPIs ->
the Python API -> reports -> runs (scenarios, sweeps, store) -> command line.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

import optimizer

PACKAGE = Path(optimizer.__file__).parent

#: Module (or package prefix) -> layer, lowest first.  The longest matching prefix wins.
LAYERS: dict[str, int] = {
    "optimizer.errors": 0, "optimizer.network": 0, "optimizer.geo": 0, "optimizer.plan": 0,
    "optimizer._compat": 0, "optimizer.outputs": 0, "optimizer.progress": 0,
    "optimizer.schema": 1, "optimizer.io": 1,
    "optimizer.links": 2, "optimizer.stock": 2, "optimizer.io.instances": 2,
    "optimizer.model": 3,
    "optimizer.solvers": 4,
    "optimizer.strategies": 5,
    "optimizer.rebalance": 5, "optimizer.rebalance.job": 10,
    "optimizer.checker": 6,
    "optimizer.results": 7, "optimizer.kpis": 7, "optimizer.diagnose": 7,
    "optimizer.api": 8,
    "optimizer.reports": 9, "optimizer.maps": 9, "optimizer.frontier": 9, "optimizer.report": 9,
    "optimizer.runs": 10,
    "optimizer.cli": 11, "optimizer.__main__": 11, "optimizer": 11,
    "optimizer.expansion": 8, "optimizer.expansion.study": 1, "optimizer.expansion.model": 5,
    "optimizer.expansion.report": 9, "optimizer.expansion.studyfile": 10, "optimizer.expansion.stochastic": 8,
}

#: Lazy (function-level) imports that reach one layer up on purpose, with the reason.
ALLOWED_UPWARD = {
    ("optimizer.network", "optimizer.links"): "Network.link_table / graph build the lane graph on demand",
    ("optimizer.api", "optimizer.runs.scenario"): "load() reads scenario files",
}


def layer(module: str) -> int:
    """The layer of a module name (longest matching prefix of :data:`LAYERS`)."""
    best = max((key for key in LAYERS if module == key or module.startswith(key + ".")), key=len)
    return LAYERS[best]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every optimizer module a source file imports (at any depth of the file)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "optimizer":
                found |= {f"optimizer.{alias.name}" for alias in node.names}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {name for name in found if name == "optimizer" or name.startswith("optimizer.")}


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_layer_above_its_own(path: Path) -> None:
    own = module_name(path)
    upward = [name for name in imports_of(path)
              if layer(name) > layer(own) and (own, name) not in ALLOWED_UPWARD and name != "optimizer"]
    assert not upward, f"{own} (layer {layer(own)}) imports {upward} from higher layers"


def test_every_module_has_a_layer() -> None:
    for path in SOURCES:
        assert layer(module_name(path)) >= 0


def test_moved_modules_still_import_with_a_deprecation_warning() -> None:
    from optimizer._compat import MOVED

    for old, targets in MOVED.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module = __import__(old, fromlist=["_"])
        assert any(issubclass(w.category, DeprecationWarning) for w in caught), old
        public = [n for n in dir(__import__(targets[0], fromlist=["_"])) if not n.startswith("_")]
        with pytest.warns(DeprecationWarning):
            assert getattr(module, public[0]) is not None


def test_lazy_commands_show_their_own_help() -> None:
    import importlib

    from optimizer.cli.main import main

    for name, (module, attribute, short_help) in main.lazy_commands.items():
        command = getattr(importlib.import_module(module), attribute)
        assert (command.help or "").strip().splitlines()[0] == short_help, name


def test_help_imports_no_heavy_module() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom optimizer.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in ('pandas', 'scipy', 'sqlalchemy', 'highspy', 'ortools', 'pulp', 'networkx',"
            " 'matplotlib', 'dask') if m in sys.modules)\nprint(','.join(heavy), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stderr.strip() == "", f"optimizer --help imports {proc.stderr.strip()}"
