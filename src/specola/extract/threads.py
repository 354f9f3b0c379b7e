"""One BLAS thread for the extraction's matrix products.

They are small (a few thousand rows at most): more BLAS threads only contend for the cores, and their spinning
costs several times the product's CPU time on a busy machine.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, wraps
from typing import Any, TypeVar

from threadpoolctl import ThreadpoolController

__all__ = ["serial_blas"]

F = TypeVar("F", bound=Callable[..., Any])


@cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()  # inspected once (~2 ms); a limit through it costs microseconds


def serial_blas(fn: F) -> F:
    """Run ``fn`` with one BLAS thread."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _controller().limit(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
