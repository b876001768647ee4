import pytest

from rate_limiter import RateLimiter


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_allows_up_to_the_limit_then_refuses():
    clock = FakeClock()
    limiter = RateLimiter(3, 10, clock)
    assert [limiter.allow() for _ in range(4)] == [True, True, True, False]


def test_a_call_is_forgotten_exactly_one_window_later():
    clock = FakeClock()
    limiter = RateLimiter(1, 10, clock)
    assert limiter.allow() is True
    clock.now = 9.5
    assert limiter.allow() is False
    clock.now = 10
    assert limiter.allow() is True


def test_refused_calls_do_not_count():
    clock = FakeClock()
    limiter = RateLimiter(1, 10, clock)
    limiter.allow()
    clock.now = 5
    assert limiter.allow() is False
    clock.now = 10
    assert limiter.allow() is True


def test_remaining_counts_down():
    clock = FakeClock()
    limiter = RateLimiter(2, 10, clock)
    assert limiter.remaining() == 2
    limiter.allow()
    assert limiter.remaining() == 1
    limiter.allow()
    assert limiter.remaining() == 0


def test_retry_after_says_when_the_oldest_call_expires():
    clock = FakeClock()
    limiter = RateLimiter(2, 10, clock)
    assert limiter.retry_after() == 0
    limiter.allow()
    clock.now = 1
    limiter.allow()
    clock.now = 2
    assert limiter.retry_after() == 8


def test_bad_settings_are_rejected():
    for limit, window in ((0, 10), (1, 0), (1, -1)):
        with pytest.raises(ValueError):
            RateLimiter(limit, window, FakeClock())
