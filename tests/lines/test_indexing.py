"""The traced model's indexing helpers: exact, and their gradients compile to no XLA loops."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from specola.lines import _jax  # noqa: F401  (float64)
from specola.lines._exported import supported
from specola.lines._indexing import choose, take
from specola.lines.inference import _OPTIONS


def _loops(fn, *args) -> int:
    """While loops in XLA's optimised CPU code of ``fn``, compiled with specola's options."""
    return len(re.findall(r" while\(", jax.jit(fn).lower(*args).compile(supported(_OPTIONS)).as_text()))


@pytest.mark.parametrize("idx", [[2, 3, 4], [4, 0, 0, 2], [1]])
@pytest.mark.parametrize("axis", [0, 1])
def test_take_equals_numpy_take_and_its_gradient_has_no_loop(idx, axis):
    x = jnp.asarray(np.random.default_rng(0).normal(size=(5, 5)))
    np.testing.assert_array_equal(take(x, idx, axis), np.take(np.asarray(x), idx, axis))
    weights = jnp.arange(1.0, 1.0 + 5 * len(idx)).reshape((len(idx), 5) if axis == 0 else (5, len(idx)))
    grad = jax.grad(lambda x: jnp.sum(weights * take(x, idx, axis)))
    expected = jax.grad(lambda x: jnp.sum(weights * jnp.take(x, jnp.asarray(idx), axis)))(x)
    np.testing.assert_array_equal(grad(x), expected)
    assert _loops(grad, x) == 0


@pytest.mark.parametrize("n", [1, 3])
def test_choose_equals_indexing(n):
    x = jnp.asarray(np.random.default_rng(1).normal(size=(n, 4)))
    index = jnp.asarray(np.random.default_rng(2).integers(0, n, 30))
    np.testing.assert_array_equal(choose(x, index, n), np.asarray(x)[np.asarray(index)])
    grad = jax.grad(lambda x: jnp.sum(choose(x, index, n) ** 2))(x)
    np.testing.assert_allclose(grad, jax.grad(lambda x: jnp.sum(x[index] ** 2))(x), rtol=1e-14)


def test_one_row_is_chosen_without_a_loop():
    x, index = jnp.ones((1, 4)), jnp.zeros(30, int)
    assert _loops(jax.grad(lambda x: jnp.sum(choose(x, index, 1) ** 2)), x) == 0
