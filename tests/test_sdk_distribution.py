"""The SDK is its own lean distribution (client/, movierec-client): grpcio and protobuf only,
the same pins as the server's, and a command line that says what it lacks without the
full movierec package."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = pathlib.Path(__file__).resolve().parents[1]
SDK = ROOT / "client" / "movierec_client"
ALLOWED = {"grpc", "google", "movierec_client"}
"""What the SDK's modules may import besides the standard library."""
ADMIN = "movierec"
"""...and, inside a function only, the full package's admin route (tests/test_layers.py)."""


def _project(path: pathlib.Path) -> dict:
    return tomllib.loads(path.read_text())["project"]


def test_the_sdk_depends_on_grpcio_and_protobuf_pinned_as_the_server_pins_them():
    sdk = _project(ROOT / "client" / "pyproject.toml")
    server = _project(ROOT / "pyproject.toml")
    assert sdk["name"] == "movierec-client"
    assert sorted(sdk["dependencies"]) == ["grpcio==1.85.3", "protobuf==7.36.2"]
    assert set(sdk["dependencies"]) <= set(server["dependencies"])
    assert f"movierec-client=={_sdk_version()}" in server["dependencies"]
    assert sdk["scripts"] == {"movierec": "movierec_client.cli:main"}
    assert "scripts" not in server  # one `movierec` command, the SDK's


def _sdk_version() -> str:
    tree = ast.parse((SDK / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "__version__":  # type: ignore[attr-defined]
            return node.value.value  # type: ignore[attr-defined]
    raise AssertionError("movierec_client.__version__ not found")


def test_the_sdk_imports_only_the_standard_library_grpc_and_protobuf():
    problems = []
    for path in sorted(SDK.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        lazy = {
            id(node)
            for function in ast.walk(tree)
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
            for node in ast.walk(function)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in ALLOWED:
                    continue
                if top == ADMIN and id(node) in lazy:
                    continue
                problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports {name}")
    assert not problems, "\n".join(problems)


_WITHOUT_THE_SERVER = """
import sys

# what an environment holding only movierec-client lacks (None: import fails, find_spec None)
for name in ("movierec", "serving_service", "trainer_service", "numpy", "pandas", "tensorflow"):
    sys.modules[name] = None
from movierec_client.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["trainer", "--port", "0"],
        ["serving"],
        ["synth", "--model", "m"],
        ["download", "ml-100k"],
        ["load", "--model", "m", "--users-from-store", "/nowhere"],
        ["dataset", "list"],
        ["dataset", "show", "plays"],
    ],
)
def test_without_the_server_package_its_commands_exit_2_with_one_line(argv):
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_THE_SERVER, *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert "needs the full movierec package" in done.stderr


def test_without_the_server_package_the_client_commands_parse():
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_THE_SERVER, "recommend", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "--model" in done.stdout
