import random

import pytest

from sharecast.domain.backoff import RetryPolicy


def test_default_schedule_is_2_4_8_seconds_without_jitter():
    policy = RetryPolicy(jitter=0)
    assert [policy.delay_after(n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]


def test_jitter_stays_within_bounds():
    policy = RetryPolicy(jitter=0.2)
    rng = random.Random(7)
    delays = [policy.delay_after(2, rng=rng) for _ in range(500)]
    assert min(delays) >= 3.2
    assert max(delays) <= 4.8
    assert len(set(delays)) > 100


def test_platform_wait_hint_overrides_backoff_even_beyond_cap():
    policy = RetryPolicy(max_s=10)
    assert policy.delay_after(1, retry_after_s=900) == 900


def test_cap_applies_to_computed_delay():
    policy = RetryPolicy(base_s=2, max_s=5, jitter=0)
    assert policy.delay_after(10) == 5


def test_can_retry_counts_attempts():
    policy = RetryPolicy(max_attempts=4)
    assert [policy.can_retry(n) for n in (1, 2, 3, 4)] == [True, True, True, False]


def test_attempt_is_one_based():
    with pytest.raises(ValueError):
        RetryPolicy().delay_after(0)
