"""The `movierec` command: `movierec serving` and `movierec trainer` run a service, every
other command calls one through the SDK (movierec_client.commands).

This module imports neither: a service process loads no client SDK, and a client command
no service package.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import signal
import sys

SERVICES = ("trainer", "serving")


def needs_full_package(command: str) -> str | None:
    """Why `movierec <command>` cannot run here: the services and the commands that work
    on this machine's store or data live in the full movierec package, which an
    environment holding only the SDK (movierec-client) lacks. None when it is installed.
    """
    if importlib.util.find_spec("movierec") is not None:
        return None
    return (
        f"`movierec {command}` needs the full movierec package (the services and the"
        " library); this environment has only the movierec-client SDK"
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `movierec` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in SERVICES:
        missing = needs_full_package(argv[0])
        if missing:
            print(f"error: {missing}", file=sys.stderr)
            return 2
        # The service's own flags are parsed by its module.
        module = importlib.import_module(f"{argv[0]}_service.__main__")
        return int(module.main(argv[1:], prog=f"movierec {argv[0]}"))
    from movierec_client import commands

    try:
        return commands.run(argv)
    except BrokenPipeError:
        return reader_gone()


def reader_gone() -> int:
    """Ends quietly once the reader of the output has gone (`movierec models --json | head`),
    with the status of a process that SIGPIPE ended, as `cat` would; the output's file
    descriptors are pointed at /dev/null so that the flush at exit cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError):  # a stream without a descriptor of its own
            pass
    return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
