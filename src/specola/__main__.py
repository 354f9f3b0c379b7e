"""``python -m specola``: the same command line as ``specola``."""

from .cli import console

console()
