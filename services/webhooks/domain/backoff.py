"""When a failed delivery is tried again, and when it gives up.

The schedule (``DEFAULT_SCHEDULE``, seconds after each failed attempt): 5 s, 5 min, 30 min, 2 h, 5 h,
10 h, 10 h -- eight attempts over 27 h 35 min 5 s (more than a day, so a receiver down for a day still
gets everything). Each wait is spread by ``jitter`` (default +-20 %, drawn from the ``rand`` given:
[0, 1)), so receivers coming back do not get every retry at once. After the last wait's attempt
fails, the delivery is ``failed`` (shown in the log, replayable). ``WEBHOOKS_RETRY_SCHEDULE`` (comma
separated seconds) replaces the schedule (the tests use short waits).
"""
from __future__ import annotations

import datetime as dt

DEFAULT_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
DEFAULT_JITTER = 0.2


def parse_schedule(text: str | None) -> tuple[float, ...]:
    """``"1,2,5"`` -> ``(1.0, 2.0, 5.0)``; empty or None -> the default. Refuses negatives."""
    if not text or not text.strip():
        return DEFAULT_SCHEDULE
    values = tuple(float(part) for part in text.split(",") if part.strip())
    if not values or any(v < 0 for v in values):
        raise ValueError(f"a retry schedule is non-negative seconds, comma separated: {text!r}")
    return values


def total_window(schedule: tuple[float, ...] = DEFAULT_SCHEDULE) -> float:
    """Seconds from the first attempt to the last (without jitter)."""
    return float(sum(schedule))


def max_attempts(schedule: tuple[float, ...] = DEFAULT_SCHEDULE) -> int:
    return len(schedule) + 1


def next_attempt_at(failed_attempts: int, failed_at: dt.datetime, rand: float,
                    schedule: tuple[float, ...] = DEFAULT_SCHEDULE,
                    jitter: float = DEFAULT_JITTER) -> dt.datetime | None:
    """When to try again after ``failed_attempts`` failed (1 after the first), or None: give up.
    ``rand`` in [0, 1) spreads the wait over ``[wait * (1 - jitter), wait * (1 + jitter))``."""
    if failed_attempts < 1:
        raise ValueError("next_attempt_at is asked after a failed attempt")
    if failed_attempts > len(schedule):
        return None
    wait = schedule[failed_attempts - 1]
    spread = wait * (1 - jitter + 2 * jitter * rand)
    return failed_at + dt.timedelta(seconds=spread)
