"""A job's log: TensorFlow's RefCount flood left out, every other line kept, in order."""

import io
import os
import signal
import subprocess
import sys

import pytest

from movierec.training.tf_logs import filter_lines

REFCOUNT = (
    b"E0000 00:00:1796404774.392350   11602 tensor.h:692] Tensor RefCount not reliable if"
    b" buf_ points to a SubBuffer.\n"
)


def test_the_filter_leaves_out_the_refcount_lines_only_and_counts_them():
    lines = [b"W0000 a warning\n", REFCOUNT, REFCOUNT, b"E0000 a real error\n", b"last"]
    sink = io.BytesIO()
    assert filter_lines(lines, sink) == 2
    assert sink.getvalue() == b"W0000 a warning\nE0000 a real error\nlast"


@pytest.mark.service
def test_a_quieted_process_keeps_its_warnings_and_its_last_lines():
    script = (
        "import logging, os\n"
        "from movierec.training.tf_logs import quiet_tensorflow_logs\n"
        "quiet_tensorflow_logs('job 1')\n"
        f"os.write(2, {REFCOUNT!r} * 500)\n"
        "os.write(2, b'W0000 tensorflow warning\\n')\n"
        "logging.warning('python warning')\n"
        "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=60, env=env, check=True
    )
    assert result.stdout == b"1\n"  # C++ INFO off, warnings and errors on
    assert result.stderr.decode().splitlines() == [
        "W0000 tensorflow warning",
        "WARNING:root:python warning",
        "job 1: left out 500 lines of TensorFlow's 'Tensor RefCount not reliable' log",
    ]


@pytest.mark.slow
@pytest.mark.service
def test_the_trainer_log_of_one_dot_job_is_short(tmp_path, data_dir):
    # Before the filter, one ml-100k dot retrieval job wrote about 960 RefCount lines per
    # epoch into the trainer's log (20,247 lines for 21 epochs).
    log_path = tmp_path / "trainer.log"
    movierec = [sys.executable, "-m", "movierec_client.cli"]
    with open(log_path, "w") as log:
        trainer = subprocess.Popen(
            [*movierec, "trainer", "--port", "0", "--store", str(tmp_path / "store")]
            + ["--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        line = trainer.stdout.readline()  # "trainer listening on 127.0.0.1:<port>"
        assert "listening on" in line, line
        address = line.split()[-1]
        result = subprocess.run(
            [*movierec, "train", "--trainer", address, "--model", "films", "--kind", "dot"]
            + ["--split", "u1", "--epochs", "3", "--patience", "0", "--quiet"],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    finally:
        trainer.send_signal(signal.SIGTERM)
        try:
            trainer.wait(timeout=30)
        except subprocess.TimeoutExpired:
            trainer.kill()
            trainer.wait()
        trainer.stdout.close()
    text = log_path.read_text()
    assert "RefCount" not in text.replace("'Tensor RefCount not reliable' log", "")
    assert "published films version 1" in text
    assert len(text.splitlines()) <= 60, text[-3000:]
