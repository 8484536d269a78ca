"""Imports run one way: no cycle between modules or between the parts of facebench (its
subpackages and top-level modules), and no module imports from a higher layer than its own.
Read from the source with ``ast``, imports inside functions included; nothing is imported."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "facebench"
SOURCE = Path(__file__).resolve().parents[1] / "src" / PACKAGE

# Bottom to top, each layer's names separated by spaces. A module may import modules of its own
# layer and of the layers below. A name covers the module or package of that name under
# facebench and everything below it; a module takes the layer of the longest name covering it,
# so new modules of a package need no entry.
LAYERS = [
    (
        "foundations",
        "errors fileio downloads schemas recognition.boxes devices workflow report_entries",
    ),
    ("models", "models"),  # the nets' definitions and model file layout; no framework runs here
    ("frameworks", "backends"),  # load a model file and run it, one module per framework
    ("conversions", "convert"),
    ("pipeline", "recognition videos"),  # detect, crop, embed, identify; the test videos
    ("harness", "sensors harness"),  # timed runs, their metadata and sensors, probes, bench
    ("remote", "remote"),  # the recognition server, its protocol and batcher
    ("experiments", "strategies serving"),
    ("analysis", "analysis"),  # every experiment's reader, summary and figures
    ("interface", "collect configdoc config plan cli"),
]
LAYER_NAMES = [name for name, _ in LAYERS]


def _modules() -> dict[str, Path]:
    """Dotted module name -> source file, for every module and package under SOURCE."""
    modules = {}
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(SOURCE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imported(module: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """Every facebench module that ``module`` imports anywhere in its source, relative imports
    resolved; ``from x import y`` names module ``x.y`` where that is one, else ``x``."""

    def known(name: str) -> str:
        while name not in modules:
            name = name.rpartition(".")[0]
        return name

    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
            yield from (known(name) for name in names if name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            if source.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                yield submodule if submodule in modules else known(source)


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        module: set(_imported(module, path, modules)) - {module} for module, path in modules.items()
    }


def _part(module: str) -> str:
    """The subpackage or top-level module ``module`` belongs to."""
    return ".".join(module.split(".")[:2])


def _layer(module: str) -> int | None:
    """Index in LAYERS of ``module``'s layer (the bare package, holding only its version, is
    at the bottom); None when no name covers it."""
    if module == PACKAGE:
        return 0
    relative = module.removeprefix(f"{PACKAGE}.")
    covering = [
        (len(name), index)
        for index, (_, names) in enumerate(LAYERS)
        for name in names.split()
        if relative == name or relative.startswith(f"{name}.")
    ]
    return max(covering)[1] if covering else None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node, each sorted (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def _loop(graph: dict[str, set[str]], members: list[str]) -> str:
    """One import loop through the first of ``members``, as ``a -> b -> a``."""
    start, inside = members[0], set(members)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        node = frontier.pop(0)
        for target in sorted(graph[node] & inside):
            if target == start:
                return " -> ".join([*paths[node], start])
            if target not in paths:
                paths[target] = [*paths[node], target]
                frontier.append(target)
    raise AssertionError(f"no loop through {start}")


def test_every_module_has_a_layer():
    unplaced = [module for module in _graph() if _layer(module) is None]
    assert not unplaced, f"{Path(__file__).name}: add to LAYERS (bottom to top): {unplaced}"


def test_no_import_from_a_higher_layer():
    upward = [
        f"{module} ({LAYER_NAMES[_layer(module)]}) imports {target} ({LAYER_NAMES[_layer(target)]})"
        for module, targets in _graph().items()
        for target in sorted(targets)
        if None not in (_layer(module), _layer(target)) and _layer(target) > _layer(module)
    ]
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_no_cycle_between_modules():
    graph = _graph()
    found = [_loop(graph, members) for members in _cycles(graph)]
    assert not found, "import cycles between modules:\n" + "\n".join(found)


def test_no_cycle_between_parts():
    parts: dict[str, set[str]] = {}
    for module, targets in _graph().items():
        parts.setdefault(_part(module), set()).update(map(_part, targets))
    graph = {part: targets - {part} for part, targets in parts.items()}
    found = [_loop(graph, members) for members in _cycles(graph)]
    assert not found, "import cycles between subpackages/top-level modules:\n" + "\n".join(found)
