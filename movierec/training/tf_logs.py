"""Keeps the C++ log of a process that is about to import TensorFlow readable.

TensorFlow's tf.data `rebatch`, which cuts the training rows into batches, logs
"Tensor RefCount not reliable if buf_ points to a SubBuffer." at ERROR level for every
block of rows: tens of thousands of lines per job, harmless, and at a level no
TF_CPP_MIN_LOG_LEVEL can hide without hiding every warning and error too. So a job or
worker process sends its standard error through a small filter process that drops those
lines and passes every other line on unchanged, in order. Imports nothing outside the
standard library: the filter runs this file as a script.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from typing import BinaryIO

NOISE = (b"Tensor RefCount not reliable",)
"""Fragments of the C++ log lines that are left out."""

DRAIN_S = 5.0
"""How long an exiting process waits for the filter to pass its last lines on."""


def quiet_tensorflow_logs(label: str | None) -> None:
    """Call before TensorFlow is imported, in a job or training-worker process.

    Sets TF_CPP_MIN_LOG_LEVEL to 1 unless it is set (TensorFlow's C++ INFO lines off, its
    warnings and errors shown), and sends this process's standard error (file descriptor
    2, which TensorFlow's C++ log writes to, and Python's too) through a filter process
    that leaves out the lines of NOISE and, given a label, says at the end how many it
    left out. At exit the process waits for the filter to pass on what it wrote; lines
    written just before a crash are still passed on, since the filter outlives it.

    Args:
        label: Names the process in the filter's closing line, e.g. "job 1a2b"; None for
            no closing line (a training worker, whose last line is its exit reason).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    sys.stderr.flush()
    original = os.dup(2)
    read_end, write_end = os.pipe()
    try:
        log_filter = subprocess.Popen(
            [sys.executable, "-I", os.path.abspath(__file__), *([label] if label else [])],
            stdin=read_end,
            stdout=original,
            stderr=original,
        )
    except OSError:
        os.close(read_end)
        os.close(write_end)
        os.close(original)
        return  # unfiltered rather than not at all
    os.close(read_end)
    os.dup2(write_end, 2)
    os.close(write_end)

    def drain() -> None:
        sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's last write end held here
        try:
            log_filter.wait(DRAIN_S)
        except subprocess.TimeoutExpired:
            pass

    atexit.register(drain)


def filter_lines(lines: Iterable[bytes], sink: BinaryIO, noise: tuple[bytes, ...] = NOISE) -> int:
    """Writes each line that holds no fragment of `noise` to `sink`, flushing after each.

    Returns:
        How many lines were left out.
    """
    left_out = 0
    for line in lines:
        if any(fragment in line for fragment in noise):
            left_out += 1
            continue
        sink.write(line)
        sink.flush()
    return left_out


def main(label: str | None) -> int:
    """The filter: standard input to standard output, then a line counting what it left out.
    It ends when every writer has closed its end, so it ignores the signals a terminal or a
    stop sends the whole process group: the last lines of a stopping job still get out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    left_out = filter_lines(sys.stdin.buffer, sys.stdout.buffer)
    if left_out and label:
        sys.stdout.buffer.write(
            f"{label}: left out {left_out} lines of TensorFlow's 'Tensor RefCount not"
            " reliable' log\n".encode()
        )
        sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
