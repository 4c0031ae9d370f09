"""The `movierec` command: `movierec serving` and `movierec trainer` run a service, every
other command calls one through the SDK (client.commands).

This module imports neither: a service process loads no client SDK, and a client command
no service package.
"""

from __future__ import annotations

import importlib
import sys

SERVICES = ("trainer", "serving")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `movierec` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in SERVICES:
        # The service's own flags are parsed by its module.
        module = importlib.import_module(f"{argv[0]}_service.__main__")
        return int(module.main(argv[1:], prog=f"movierec {argv[0]}"))
    from client import commands

    return commands.run(argv)


if __name__ == "__main__":
    sys.exit(main())
