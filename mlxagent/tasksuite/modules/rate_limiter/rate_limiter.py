"""A sliding-window rate limiter that reads time from a clock it is given."""


class RateLimiter:
    """Allows at most `limit` calls in any `window` seconds of `clock()` time."""

    def __init__(self, limit, window, clock):
        if limit < 1 or window <= 0:
            raise ValueError("limit must be at least 1 and window positive")
        self.limit = limit
        self.window = window
        self.clock = clock
        self._calls = []

    def _forget_old(self, now):
        self._calls = [t for t in self._calls if now - t < self.window]

    def allow(self):
        """Record a call and return True if it is within the limit; otherwise return False."""
        now = self.clock()
        self._forget_old(now)
        if len(self._calls) >= self.limit:
            return False
        self._calls.append(now)
        return True

    def remaining(self):
        """How many more calls would be allowed right now."""
        self._forget_old(self.clock())
        return self.limit - len(self._calls)

    def retry_after(self):
        """Seconds until a call would be allowed again (0 if one is allowed now)."""
        now = self.clock()
        self._forget_old(now)
        if len(self._calls) < self.limit:
            return 0
        return self._calls[0] + self.window - now
