from datetime import timedelta

import pytest

from shared.clock import FakeClock
from shared.throttle import LIMITS, Limit, Scope, Tally, after_failure, blocked_until, retry_after_seconds

FIVE_IN_15_MINUTES = Limit(failures=5, window=timedelta(minutes=15))


def fail(times: int, clock: FakeClock, tally: Tally | None = None, every: timedelta = timedelta(0)) -> Tally | None:
    for _ in range(times):
        tally = after_failure(tally, FIVE_IN_15_MINUTES, clock.now())
        clock.advance(seconds=every.total_seconds())
    return tally


class TestBlocking:
    def test_four_failures_leave_the_key_allowed(self):
        clock = FakeClock()
        assert blocked_until(fail(4, clock), clock.now()) is None

    def test_the_fifth_failure_blocks_for_the_window_from_that_failure(self):
        clock = FakeClock()
        tally = fail(4, clock, every=timedelta(minutes=1))
        fifth_at = clock.now()

        tally = after_failure(tally, FIVE_IN_15_MINUTES, fifth_at)

        assert blocked_until(tally, fifth_at) == fifth_at + timedelta(minutes=15)

    def test_still_blocked_one_second_before_the_end_and_allowed_at_it(self):
        clock = FakeClock()
        tally = fail(5, clock)
        until = clock.now() + timedelta(minutes=15)

        assert blocked_until(tally, until - timedelta(seconds=1)) == until
        assert blocked_until(tally, until) is None

    def test_failures_older_than_the_window_are_forgotten(self):
        clock = FakeClock()
        tally = fail(4, clock)
        clock.advance(minutes=15)

        tally = fail(1, clock, tally)

        assert tally is not None and tally.failures == 1
        assert blocked_until(tally, clock.now()) is None

    def test_the_window_opens_at_the_first_failure_not_the_latest(self):
        clock = FakeClock()
        tally = fail(4, clock, every=timedelta(minutes=4))  # at 0, 4, 8 and 12 minutes; now it is 16

        tally = fail(1, clock, tally)

        assert tally is not None and tally.failures == 1

    def test_after_a_block_ends_counting_starts_again(self):
        clock = FakeClock()
        tally = fail(5, clock)
        clock.advance(minutes=15)

        tally = fail(4, clock, tally)

        assert tally is not None and tally.failures == 4
        assert blocked_until(tally, clock.now()) is None

    def test_nothing_recorded_is_allowed(self):
        assert blocked_until(None, FakeClock().now()) is None

    def test_a_limit_of_one_blocks_on_the_first_failure(self):
        clock = FakeClock()
        tally = after_failure(None, Limit(1, timedelta(minutes=1)), clock.now())
        assert blocked_until(tally, clock.now()) == clock.now() + timedelta(minutes=1)


class TestRetryAfter:
    @pytest.mark.parametrize(("left", "seconds"), [
        (timedelta(minutes=15), 900),
        (timedelta(seconds=899, milliseconds=1), 900),
        (timedelta(milliseconds=1), 1),
        (timedelta(0), 1),
    ])
    def test_whole_seconds_rounded_up_and_never_zero(self, left, seconds):
        now = FakeClock().now()
        assert retry_after_seconds(now + left, now) == seconds


def test_defaults_a_city_would_accept():
    assert LIMITS[Scope.LOGIN_USER] == Limit(5, timedelta(minutes=15))
    assert LIMITS[Scope.LOGIN_ADDRESS] == Limit(20, timedelta(minutes=15))
    assert LIMITS[Scope.TRACKING_CASE] == Limit(10, timedelta(minutes=15))
    assert LIMITS[Scope.TRACKING_ADDRESS] == Limit(30, timedelta(minutes=15))
