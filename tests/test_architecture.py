"""The shape of the code: no import cycle, a clean layering, every package installed.

The import graph is read from the source (every ``import``, including those inside functions),
so a lazy import that runs back up the layers is caught as well as a module-level one.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {"aalp": ROOT / "compiler", "aalp.backends": ROOT / "backends"}

# front end → checks → plan → calibration → model → optimizer → explain/backends/simulated
# LLM → calibrate → API →
# explorer → command line. A module may import its own layer's package and lower layers.
# The IR's types (spans included) are the vocabulary of everything, diagnostics too.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("aalp.front.ir", "aalp.codes", "aalp.suggest"),
    ("aalp.diagnostics", "aalp.errors"),
    ("aalp.front",),
    ("aalp.checks",),
    ("aalp.plan",),
    ("aalp.calibration",),
    ("aalp.model",),
    ("aalp.optimizer",),
    ("aalp.explainer", "aalp.backends", "aalp.sim"),
    ("aalp.calibrate",),
    ("aalp.api",),
    ("aalp.explore",),
    ("aalp.cli",),
)


def _module_name(path: Path) -> str:
    for package, folder in sorted(SOURCES.items(), key=lambda kv: -len(str(kv[1]))):
        if path.is_relative_to(folder):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            return ".".join([package, *parts])
    raise ValueError(path)


def _modules() -> dict[str, Path]:
    out = {}
    for folder in SOURCES.values():
        for path in sorted(folder.rglob("*.py")):
            if "static" not in path.parts:
                out[_module_name(path)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module of this project an import names (a name inside a module: that module)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path) -> set[str]:
    """The project's modules that ``module`` imports: ``from X import y`` names X.y when that
    is a module, else X."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            prefix = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join([*base, prefix] if prefix else base)
            for a in node.names:
                full = f"{prefix}.{a.name}"
                names.append(full if full in MODULES else prefix)
    found = {_resolve(n) for n in names if n.startswith("aalp")}
    return {m for m in found if m is not None and m != module}


def _graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for module, path in MODULES.items():
        graph.add_node(module)
        for target in _imports(module, path):
            graph.add_edge(module, target)
    return graph


def _layer(module: str) -> int | None:
    for index, layer in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in layer):
            return index
    return None


def _package(module: str) -> str:
    for layer in LAYERS:
        for p in layer:
            if module == p or module.startswith(p + "."):
                return p
    return module


def test_the_import_graph_has_no_cycle() -> None:
    cycles = list(nx.simple_cycles(_graph()))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join([*c, c[0]]) for c in cycles)


def test_every_module_belongs_to_a_layer() -> None:
    loose = [m for m in MODULES if m != "aalp" and _layer(m) is None]
    assert not loose, f"modules outside every layer of LAYERS: {loose}"


def test_imports_only_run_down_the_layers() -> None:
    bad = []
    for source, target in _graph().edges:
        if source == "aalp":  # the package's face hands the API on, lazily
            assert target == "aalp.api", target
            continue
        ls, lt = _layer(source), _layer(target)
        if lt is None or ls is None:
            continue
        if lt > ls or (lt == ls and _package(source) != _package(target)):
            bad.append(f"{source} -> {target}")
    assert not bad, "imports against the layering:\n" + "\n".join(sorted(bad))


def test_the_backends_never_run_the_optimizer() -> None:
    reached = nx.descendants(_graph(), "aalp.backends.emit")
    assert not any(m.startswith("aalp.optimizer") for m in reached)


def test_every_package_is_installed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    packages = {m for m, p in MODULES.items() if p.name == "__init__.py"}
    assert packages - listed == set()


# Checks that recount on purpose, and say so in their docstring.
INDEPENDENT = ("aalp.model.montecarlo", "aalp.model.montecarlo_items")


@pytest.mark.parametrize(
    "pattern, home",
    [
        ("(1 - rho)", "aalp.plan.shape"),  # overlapping windows
        ("fanin**level", "aalp.plan.shape"),  # the nodes and x of a reduce level
    ],
)
def test_each_counting_formula_is_written_once(pattern: str, home: str) -> None:
    holders = [m for m, p in MODULES.items() if pattern in p.read_text(encoding="utf-8")]
    for module in INDEPENDENT:
        assert "independent" in (MODULES[module].read_text(encoding="utf-8")[:2000])
    assert [m for m in holders if m not in INDEPENDENT] == [home]
