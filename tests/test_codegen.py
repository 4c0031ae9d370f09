"""Generated protobuf code must match what scripts/codegen.py makes from protos/ today."""

import filecmp
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.service

ROOT = pathlib.Path(__file__).resolve().parents[1]
GENERATED = pathlib.Path("client", "movierec_client", "v1")


def test_generated_code_is_fresh(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "codegen.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    fresh = sorted(p.name for p in (tmp_path / GENERATED).iterdir())
    committed = sorted(
        p.name for p in (ROOT / GENERATED).iterdir() if p.name != "__init__.py" and p.is_file()
    )
    assert fresh == committed, "run `make proto`"
    for name in fresh:
        same = filecmp.cmp(tmp_path / GENERATED / name, ROOT / GENERATED / name, shallow=False)
        assert same, f"{GENERATED / name} is stale: run `make proto`"


def test_the_generated_modules_import_each_other_relatively():
    # they ship inside the SDK (movierec_client.v1), not as a top-level movierec.v1
    for path in (ROOT / GENERATED).glob("*.py*"):
        assert "from movierec.v1 import" not in path.read_text(), path
