"""Property-based fuzzing of ros/conversions.py (the long mode is bench/bench_fuzz.py).

Only ConversionError may escape a conversion; usable fixes are finite; decoded images stay
within the pixel limit.
"""

import numpy as np
from fuzz_cases import check_case, compressed_images, fixes, random_case, raw_images
from hypothesis import HealthCheck, given, settings

FAST = settings(
    max_examples=100, deadline=None, database=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip


@FAST
@given(raw_images())
def test_fuzz_raw_images(msg):
    check_case('image', msg)


@FAST
@given(compressed_images())
def test_fuzz_compressed_images(msg):
    check_case('compressed', msg, max_pixels=4_000_000)


@FAST
@given(fixes())
def test_fuzz_fixes(msg):
    check_case('fix', msg)


def test_fast_generator_cases_pass_and_cover_every_error_kind():
    """The benchmark's generator (seeded): valid cases, and it reaches the error paths."""
    rng = np.random.default_rng(0)
    outcomes = {check_case(*random_case(rng), max_pixels=4_000_000) for _ in range(600)}
    for needed in (
        'image:ok',
        'fix:ok',
        'compressed:ok',
        'image:size',
        'image:encoding',
        'compressed:too_large',
        'compressed:corrupt',
    ):
        assert needed in outcomes, sorted(outcomes)
