"""lerp, slerp, combine and analogy: exact endpoints and finite results for any finite input,
checked with Hypothesis on bounded, derandomised examples (the same ones on every run)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from app.services.latent_math import analogy, combine, interpolate, lerp, slerp

DETERMINISTIC = settings(max_examples=100, derandomize=True, database=None, deadline=None)
F32_MAX = float(np.finfo(np.float32).max)
BIG = float(np.float32(1e30))
TS = np.linspace(0.0, 1.0, 9)

# Any finite float32, from subnormals to float32's largest value.
any_finite = st.floats(width=32, allow_nan=False, allow_infinity=False)
moderate = st.floats(min_value=-1e3, max_value=1e3, width=32)


def vectors(dim: int, elements: st.SearchStrategy[float] = any_finite) -> st.SearchStrategy:
    return arrays(np.float32, dim, elements=elements)


@st.composite
def pairs(
    draw: st.DrawFn, elements: st.SearchStrategy[float] = any_finite, min_dim: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    dim = draw(st.integers(min_dim, 16))
    return draw(vectors(dim, elements)), draw(vectors(dim, elements))


@st.composite
def unit_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Two float32 unit vectors in 2..16 dimensions."""
    a, b = draw(pairs(st.floats(-1.0, 1.0, width=32), min_dim=2))
    for v in (a, b):
        if np.linalg.norm(v.astype(np.float64)) < 1e-3:
            v[0] = 1.0  # a direction is needed; keep the draw rather than reject it
    return unit(a), unit(b)


def unit(v: np.ndarray) -> np.ndarray:
    return (v.astype(np.float64) / np.linalg.norm(v.astype(np.float64))).astype(np.float32)


@pytest.mark.parametrize("method", [lerp, slerp])
@DETERMINISTIC
@given(ab=pairs())
@example(ab=(np.full(4, 1e30, np.float32), np.full(4, -1e30, np.float32)))
@example(ab=(np.full(4, F32_MAX, np.float32), np.full(4, -F32_MAX, np.float32)))
@example(ab=(np.zeros(4, np.float32), np.zeros(4, np.float32)))
@example(ab=(np.array([1e-45, 0], np.float32), np.array([0, -1e-45], np.float32)))
def test_endpoints_are_exact_and_every_step_finite(
    method: object, ab: tuple[np.ndarray, np.ndarray]
) -> None:
    a, b = ab
    path = method(a, b, TS)  # type: ignore[operator]
    assert path.shape == (len(TS), len(a))
    assert path.dtype == np.float32
    assert np.isfinite(path).all()
    np.testing.assert_array_equal(path[0], a)
    np.testing.assert_array_equal(path[-1], b)


@pytest.mark.parametrize("method", ["lerp", "slerp"])
@pytest.mark.parametrize("steps", [2, 3, 64])
def test_interpolate_returns_steps_rows_from_a_to_b(method: str, steps: int) -> None:
    a = np.array([1.5, -2.0, 0.25], np.float32)
    b = np.array([-3.0, 0.5, 8.0], np.float32)
    path = interpolate(a, b, steps, method)  # type: ignore[arg-type]
    assert path.shape == (steps, 3)
    np.testing.assert_array_equal(path[0], a)
    np.testing.assert_array_equal(path[-1], b)


@DETERMINISTIC
@given(ab=pairs(moderate))
def test_the_lerp_midpoint_is_the_mean(ab: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = ab
    mid = lerp(a, b, np.array([0.5]))[0]
    mean = (a.astype(np.float64) + b) / 2
    np.testing.assert_allclose(mid, mean, rtol=1e-6, atol=1e-6)


@DETERMINISTIC
@given(ab=pairs(moderate))
def test_lerp_moves_at_constant_speed(ab: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = ab
    steps = np.diff(lerp(a, b, TS).astype(np.float64), axis=0)  # (8, D)
    expected = (b.astype(np.float64) - a) / (len(TS) - 1)
    np.testing.assert_allclose(steps, np.broadcast_to(expected, steps.shape), atol=1e-3)


@DETERMINISTIC
@given(ab=unit_pairs())
def test_slerp_of_unit_vectors_stays_on_the_unit_sphere(ab: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = ab
    path = slerp(a, b, TS).astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0, atol=1e-5)


@DETERMINISTIC
@given(ab=unit_pairs())
def test_slerp_turns_at_constant_angular_speed(ab: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = ab
    cos_ab = float(np.clip(a.astype(np.float64) @ b, -1, 1))
    if not -0.999 < cos_ab < 0.999:
        return  # nearly (anti)parallel: the degenerate cases have their own tests
    path = slerp(a, b, TS).astype(np.float64)
    unit_path = path / np.linalg.norm(path, axis=1, keepdims=True)
    angles = np.arccos(np.clip((unit_path[:-1] * unit_path[1:]).sum(1), -1, 1))
    np.testing.assert_allclose(angles, np.arccos(cos_ab) / (len(TS) - 1), atol=1e-3)


@DETERMINISTIC
@given(a=st.integers(2, 16).flatmap(lambda d: vectors(d)))
def test_slerp_between_equal_vectors_stays_put(a: np.ndarray) -> None:
    path = slerp(a, a.copy(), TS)
    np.testing.assert_array_equal(path, np.broadcast_to(a, path.shape))


@DETERMINISTIC
@given(a=st.integers(2, 16).flatmap(lambda d: vectors(d, st.floats(-BIG, BIG, width=32))))
def test_slerp_between_opposite_vectors_is_finite_and_keeps_the_norm(a: np.ndarray) -> None:
    norm = np.linalg.norm(a.astype(np.float64))
    if norm == 0.0:
        return
    path = slerp(a, -a, TS)
    assert np.isfinite(path).all()
    np.testing.assert_array_equal(path[-1], -a)
    np.testing.assert_allclose(np.linalg.norm(path.astype(np.float64), axis=1), norm, rtol=1e-5)


def test_slerp_of_exactly_opposite_unit_vectors_goes_a_half_turn() -> None:
    a = np.array([1.0, 0.0, 0.0], np.float32)
    path = slerp(a, -a, np.array([0.0, 0.25, 0.5, 0.75, 1.0]))
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(path @ a, [1.0, np.sqrt(0.5), 0.0, -np.sqrt(0.5), -1.0], atol=1e-6)
    np.testing.assert_array_equal(slerp(a, -a, TS), slerp(a, -a, TS))  # the same way every time


@DETERMINISTIC
@given(b=st.integers(1, 16).flatmap(lambda d: vectors(d)))
def test_slerp_from_zero_is_the_straight_line(b: np.ndarray) -> None:
    zero = np.zeros_like(b)
    np.testing.assert_array_equal(slerp(zero, b, TS), lerp(zero, b, TS))
    np.testing.assert_array_equal(slerp(b, zero, TS), lerp(b, zero, TS))


def test_huge_vectors_do_not_overflow() -> None:
    a = np.array([1e30, -1e30, 3e38], np.float32)
    b = np.array([-3e38, 1e30, 1e30], np.float32)
    for method in (lerp, slerp):
        path = method(a, b, TS)
        assert np.isfinite(path).all()
        np.testing.assert_array_equal(path[[0, -1]], [a, b])


# -- arithmetic -----------------------------------------------------------------------------


@DETERMINISTIC
@given(
    data=st.integers(1, 8).flatmap(
        lambda d: st.tuples(
            vectors(d, moderate),
            st.lists(vectors(d, moderate), max_size=4),
            st.lists(st.floats(-1e3, 1e3), min_size=4, max_size=4),
        )
    )
)
def test_combine_is_start_plus_the_weighted_sum(
    data: tuple[np.ndarray, list[np.ndarray], list[float]],
) -> None:
    start, terms, weights = data
    weights = weights[: len(terms)]
    out = combine(start, terms, weights)
    expected = start.astype(np.float64)
    for vector, weight in zip(terms, weights, strict=True):
        expected = expected + weight * vector.astype(np.float64)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected.astype(np.float32))


def test_combine_without_terms_is_the_start() -> None:
    start = np.array([0.1, -7.0, 1e30], np.float32)
    np.testing.assert_array_equal(combine(start, [], []), start)


def test_combine_clips_beyond_float32_instead_of_overflowing() -> None:
    big = np.full(3, F32_MAX, np.float32)
    out = combine(big, [big], [1000.0])
    np.testing.assert_array_equal(out, big)
    np.testing.assert_array_equal(combine(-big, [big], [-1000.0]), -big)


def test_combine_needs_one_weight_per_vector() -> None:
    with pytest.raises(ValueError):
        combine(np.zeros(2, np.float32), [np.ones(2, np.float32)], [])


@DETERMINISTIC
@given(
    abc=st.integers(1, 16).flatmap(
        lambda d: st.tuples(vectors(d, moderate), vectors(d, moderate), vectors(d, moderate))
    )
)
def test_analogy_is_a_minus_b_plus_c(abc: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    a, b, c = abc
    out = analogy(a, b, c)
    expected = (a.astype(np.float64) - b + c).astype(np.float32)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(analogy(a, a, c), c)  # a is to a as c is to c


@DETERMINISTIC
@given(abc=st.tuples(vectors(3), vectors(3), vectors(3)))
def test_analogy_is_finite_for_any_finite_input(
    abc: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    assert np.isfinite(analogy(*abc)).all()
