"""Imports point one way (DESIGN.md, Layout): services -> wings -> store/kinds/data.

Every module of the shipped packages is parsed and each `import` and `from ... import`,
including those inside functions and under `if TYPE_CHECKING:`, is checked against the
table of what each layer may reach. A failure names the file and line of every crossing.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = {
    "movierec": ROOT,
    "trainer_service": ROOT,
    "serving_service": ROOT,
    "service_common": ROOT,
    "movierec_client": ROOT / "client",  # the SDK's own distribution
}
"""Package -> the folder holding it."""
GENERATED = "movierec_client.v1"
"""The generated stubs (scripts/codegen.py), which import only each other: not parsed."""

LAYERS = {
    "movierec": "core",  # the package itself (__version__)
    "movierec.errors": "core",
    "movierec.store": "store",
    "movierec.metrics": "metrics",
    "movierec.kinds": "kinds",
    "movierec.data": "data",
    "movierec.training": "training",
    "movierec.serving": "serving",
    "service_common": "service_common",
    "trainer_service": "trainer_service",
    "serving_service": "serving_service",
    "movierec_client": "client",
    "movierec_client.v1": "contract",  # generated stubs: the SDK ships them, the services use them
}
"""Module prefix -> layer; the longest prefix wins, and `movierec` names only itself."""

_LIBRARY = {"core", "store", "metrics", "kinds"}
MAY_IMPORT = {
    "core": {"core"},
    "contract": {"contract"},
    "store": {"core", "store"},
    "metrics": {"core", "metrics"},
    "kinds": {"core", "store", "metrics", "kinds"},
    "data": _LIBRARY | {"data"},
    "training": _LIBRARY | {"data", "training"},
    "serving": _LIBRARY | {"serving"},
    "service_common": {"core", "service_common"},
    "trainer_service": _LIBRARY
    | {"contract", "data", "training", "service_common", "trainer_service"},
    "serving_service": _LIBRARY | {"contract", "serving", "service_common", "serving_service"},
    "client": {"contract", "client"},
}
"""What each layer may import (its own layer included): serving never reaches training or
the data readers, the trainer never reaches serving, the client never reaches the server."""

CLIENT_ROUTE = "movierec.data.admin"
"""The one library module the client may import, and only inside a function: the store and
data commands (`synth`, `synth-ratings`, `download`, `load --users-from-store`) run here."""


def _module_name(path: pathlib.Path, folder: pathlib.Path) -> str:
    parts = list(path.relative_to(folder).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, pathlib.Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted((folder / package).rglob("*.py")):
            name = _module_name(path, folder)
            if not name.startswith(GENERATED):
                found[name] = path
    return found


SOURCES = _sources()
KNOWN = (
    set(SOURCES)
    | {GENERATED}
    | {f"{GENERATED}.{p.stem}" for p in (ROOT / "client" / "movierec_client" / "v1").glob("*.py")}
)


def layer_of(module: str) -> str | None:
    """The layer of a module of ours (None: it belongs to none)."""
    if module == "movierec":
        return LAYERS["movierec"]
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if prefix != "movierec" and (module == prefix or module.startswith(prefix + ".")):
            return LAYERS[prefix]
    return None


def imports_of(module: str, path: pathlib.Path, source: str) -> list[tuple[str, int, bool]]:
    """(imported module of ours, line, inside a function) for every import in a file."""
    tree = ast.parse(source, str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    lazy_nodes = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for node in ast.walk(function)
    }
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source_module = ".".join(base + ([node.module] if node.module else []))
            else:
                source_module = node.module or ""
            for alias in node.names:
                submodule = f"{source_module}.{alias.name}"
                targets.append(submodule if submodule in KNOWN else source_module)
        for target in targets:
            if target.split(".")[0] in PACKAGES:
                found.append((target, node.lineno, id(node) in lazy_nodes))
    return found


def crossings_of(module: str, path: pathlib.Path, source: str) -> list[str]:
    """Every import of one file that leaves its layer's table, as 'file:line: ...'."""
    where = path.relative_to(ROOT)
    layer = layer_of(module)
    if layer is None:
        return [f"{where}: {module} belongs to no layer (see LAYERS)"]
    problems = []
    for target, line, lazy in imports_of(module, path, source):
        if layer == "client" and target == CLIENT_ROUTE:
            if not lazy:
                problems.append(f"{where}:{line}: {target} is imported only inside commands")
            continue
        reached = layer_of(target)
        if reached not in MAY_IMPORT[layer]:
            problems.append(
                f"{where}:{line}: {module} imports {target}"
                f" ({layer} may not reach {reached or 'a module of no layer'})"
            )
    return problems


def test_no_import_crosses_a_layer():
    problems = [
        problem
        for module, path in SOURCES.items()
        for problem in crossings_of(module, path, path.read_text())
    ]
    assert not problems, "imports crossing a layer:\n" + "\n".join(problems)


def test_the_layer_table_has_no_cycle():
    # a layer may reach another only when that one cannot reach it back, through any path
    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in MAY_IMPORT[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    for layer, allowed in MAY_IMPORT.items():
        for other in allowed - {layer}:
            assert layer not in reachable(other), f"{layer} <-> {other}"


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("movierec.serving.x", "from movierec.training import spec\n", "serving may not reach"),
        ("movierec.serving.x", "def f():\n    import movierec.data.datasets\n", "may not reach"),
        ("movierec.store.x", "from movierec.kinds import KINDS\n", "store may not reach kinds"),
        ("movierec.data.x", "from ..serving import dataplane\n", "data may not reach serving"),
        ("trainer_service.x", "from movierec.serving.registry import X\n", "may not reach"),
        ("movierec_client.x", "import serving_service.server\n", "client may not reach"),
        ("movierec_client.x", "import movierec.errors\n", "client may not reach core"),
        ("movierec_client.x", "from movierec.data.admin import download\n", "only inside"),
        ("movierec.flat", "import numpy\n", "belongs to no layer"),
    ],
)
def test_a_crossing_is_reported_with_its_file_and_line(module, source, expected):
    path = ROOT.joinpath(*module.split(".")).with_suffix(".py")
    problems = crossings_of(module, path, source)
    assert problems and expected in problems[0], problems
    if "no layer" not in expected:
        assert f"{path.relative_to(ROOT)}:{source.count(chr(10))}:" in problems[0]
