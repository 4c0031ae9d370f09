"""Generated protobuf code must match what scripts/codegen.py makes from protos/ today."""

import filecmp
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.service

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_generated_code_is_fresh(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "codegen.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    fresh = sorted(p.name for p in (tmp_path / "movierec" / "v1").iterdir())
    committed = sorted(
        p.name
        for p in (ROOT / "movierec" / "v1").iterdir()
        if p.name != "__init__.py" and p.is_file()
    )
    assert fresh == committed, "run `make proto`"
    for name in fresh:
        same = filecmp.cmp(
            tmp_path / "movierec" / "v1" / name, ROOT / "movierec" / "v1" / name, shallow=False
        )
        assert same, f"movierec/v1/{name} is stale: run `make proto`"
