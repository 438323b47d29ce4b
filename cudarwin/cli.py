"""The ``cudarwin`` command.

Each subpackage contributes its subcommands through a ``cli`` module with a
``register(subparsers)`` function; this file only lists those modules, so a
new command needs no edit here beyond one line in ``_COMMAND_MODULES``.
A command's handler returns an exit code (see ``cudarwin.types.ExitCode``).
Errors a user can cause are raised as ``CudarwinError`` and printed as one
line on stderr with exit code 2 -- never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from cudarwin import __version__
from cudarwin.types import CudarwinError, ExitCode

_COMMAND_MODULES = (
    "cudarwin.runner.cli",  # check, baseline
    "cudarwin.tasks.cli",  # tasks list / validate
    "cudarwin.agent.cli",  # optimize
    "cudarwin.results.cli",  # report, export
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cudarwin",
        description="Turn PyTorch modules into verified, faster CUDA kernels.",
    )
    parser.add_argument("--version", action="version", version=f"cudarwin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # `optimize` hands its arguments to Hydra, which parses key=value overrides itself.
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return int(ExitCode.BAD_INPUT)
    if extra and not getattr(args, "accepts_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.handler(args, extra) if getattr(args, "accepts_extra", False) else args.handler(args))
    except CudarwinError as err:
        print(f"cudarwin: error: {err}", file=sys.stderr)
        return int(ExitCode.BAD_INPUT)
    except KeyboardInterrupt:
        print("cudarwin: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
