"""The ``specola`` command line: one subcommand per stage, plus ``info`` and ``demo``.

Every subcommand that takes a TOML config also accepts overrides of any option
as ``-section.key=value`` or ``-key=value`` (when the key is unambiguous).
Errors print one line and exit with status 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from .._version import __version__
from ..config import parse_overrides
from ..errors import SpecolaError

__all__ = ["build_parser", "console", "execute", "leave", "main"]

#: Subcommand modules of this package; each has ``add_parser(subparsers)`` setting ``func``. A command line
#: imports only its own subcommand's module (start-up time), ``--help`` all of them.
COMMANDS = ("batch", "bosz", "coadd", "demo", "extract", "fluxcal", "info", "grid", "lines", "stellar")

_OVERRIDE = re.compile(r"^--?([A-Za-z_][A-Za-z0-9_.\-]*)=(.*)$", re.S)


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand an argument list names (the first word not starting with ``-``), if it is one."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in COMMANDS else None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser (used by :func:`main` and the docs): every subcommand, or only ``command``."""
    parser = argparse.ArgumentParser(
        prog="specola",
        description="Astronomical spectroscopy from detector to science.",
        epilog="Override any config option with -section.key=value or -key=value.",
    )
    parser.add_argument("--version", action="version", version=f"specola {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars, warnings only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        if command is None or name == command:
            importlib.import_module(f".{name}", __name__).add_parser(sub)
    return parser


def _long_options(parser: argparse.ArgumentParser) -> set[str]:
    names = set()
    for action in parser._actions:
        names.update(s.lstrip("-") for s in action.option_strings if s.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for p in action.choices.values():
                names |= _long_options(p)
    return names


def split_overrides(parser: argparse.ArgumentParser, argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Separate ``-key=value`` config overrides from the parser's own arguments."""
    known = _long_options(parser)
    args, overrides = [], []
    for arg in argv:
        m = _OVERRIDE.match(arg)
        if (
            m
            and m.group(1) not in known
            and not (arg.startswith("-") and not arg.startswith("--") and len(m.group(1)) == 1)
        ):
            overrides.append(arg)
        else:
            args.append(arg)
    return args, overrides


class _StderrHandler(logging.StreamHandler):
    """Log to whatever ``sys.stderr`` is at the time (tests and notebooks replace it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _configure_logging(level: int) -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    # astropy's logger prints through its own handler: its records, passed on to ours, printed each twice. Not
    # touched here (astropy may not be imported yet, and creating its logger first breaks astropy's set-up).
    handler.addFilter(lambda record: _shown(record, level))
    root.addHandler(handler)
    root.setLevel(level)


def _shown(record: logging.LogRecord, level: int) -> bool:
    """Whether the program prints a record: specola's from ``level`` up, other libraries' warnings and errors.

    Other libraries' INFO chatter (JAX, ArviZ's optional modules, NumExpr's thread count, dask) is not the user's
    business unless ``--debug``. astropy's records are left to astropy's own handler (which prints them once).
    """
    if record.name == "astropy" or record.name.startswith("astropy."):
        return False
    return level == logging.DEBUG or record.levelno >= logging.WARNING or record.name.split(".")[0] == "specola"


def execute(argv: Sequence[str]) -> int:
    """Run one command line in-process, letting :class:`SpecolaError` propagate (used by batches).

    Parameters
    ----------
    argv : sequence of str
        Arguments without the program name.

    Returns
    -------
    int
        The command's exit status.
    """
    parser = build_parser(_command_of(argv))
    plain, override_args = split_overrides(parser, list(argv))
    args = parser.parse_args(plain)
    args.overrides = parse_overrides(override_args)
    if args.overrides and not getattr(args, "takes_overrides", False):
        raise SpecolaError(f"'specola {args.command}' takes no config overrides (got {' '.join(override_args)})")
    return int(args.func(args) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 on success, 2 on a user error).

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_of(argv))
    plain, _ = split_overrides(parser, argv)
    args = parser.parse_args(plain)
    _configure_logging(logging.DEBUG if args.debug else logging.WARNING if args.quiet else logging.INFO)
    if args.quiet:
        os.environ["TQDM_DISABLE"] = "1"  # tqdm reads TQDM_* defaults from the environment
    try:
        return execute(argv)
    except SpecolaError as exc:
        if args.debug:
            raise
        print(f"specola {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"specola {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not a user error: still one line unless --debug
        if args.debug:
            raise
        where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
        print(
            f"specola {args.command}: internal error: {type(exc).__name__}: {exc}{where}; "
            "rerun with --debug for the traceback and please report it",
            file=sys.stderr,
        )
        return 1


def console() -> NoReturn:
    """The ``specola`` program (and ``python -m specola``): :func:`main`, then :func:`leave`."""
    leave(main())


def leave(status: int) -> NoReturn:
    """End the process with ``status``, without the interpreter's garbage collection of every object at exit.

    That collection walks everything JAX, SciPy and astropy allocated (~1 s of a ``specola lines`` run) to free
    memory the operating system reclaims anyway, so every object is frozen out of the collector first
    (:func:`gc.freeze`). Objects freed by reference counting and atexit handlers are finalized as usual; only
    objects in reference cycles are not, and the commands close every file they write before they return.
    """
    sys.stdout.flush()
    gc.freeze()
    sys.exit(status)
