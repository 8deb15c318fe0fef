"""Rate limits (the ``limits`` library): per client IP and per user, separately
for ``POST /api/v1/auth/token`` (guessing passwords) and for the API.

Configured with rate strings such as ``"20/minute"``:
``RATE_LIMIT_TOKEN_PER_IP``, ``RATE_LIMIT_TOKEN_PER_USER`` (per username tried *from one client
IP*: :meth:`RateLimits.sign_in_key`), ``RATE_LIMIT_API_PER_IP``, ``RATE_LIMIT_API_PER_USER``, and
for the customers' portal (routes with a signed link, no user) ``RATE_LIMIT_PORTAL_PER_IP`` and
``RATE_LIMIT_PORTAL_PER_LINK`` (per link: :meth:`RateLimits.link_key`, a digest of the token, so a
link's text is never a storage key); an empty value turns a limit off.

Why per username and IP. A limit per username alone lets anyone lock a user out: ten wrong
passwords a minute for ``alice`` from anywhere, and ``alice`` herself cannot sign in. Keyed by
(username, IP), the guesses from one address at one account are bounded, every address as a
whole by the per-IP limit, and the real user, signing in from their own address, is never refused
for what others sent. ``RATE_LIMIT_STORAGE_URI`` is ``memory://`` (per gateway replica) by
default; a ``redis://`` URI shares the counters between replicas.
"""
from __future__ import annotations

import hashlib
import math
import os
import time

from limits import parse, storage, strategies

from crm_kit.config import env
from crm_kit.errors import TooManyRequests

DEFAULTS = {
    "RATE_LIMIT_TOKEN_PER_IP": "30/minute",
    "RATE_LIMIT_TOKEN_PER_USER": "10/minute",
    "RATE_LIMIT_API_PER_IP": "6000/minute",
    "RATE_LIMIT_API_PER_USER": "3000/minute",
    "RATE_LIMIT_PORTAL_PER_IP": "120/minute",
    "RATE_LIMIT_PORTAL_PER_LINK": "20/minute",
}


class RateLimits:
    def __init__(self):
        self.storage = storage.storage_from_string(env("RATE_LIMIT_STORAGE_URI", "memory://"))
        self.limiter = strategies.FixedWindowRateLimiter(self.storage)
        self.limits = {}
        for name, default in DEFAULTS.items():
            raw = os.environ.get(name, default)  # set but empty = no limit
            self.limits[name] = parse(raw) if raw else None

    @staticmethod
    def sign_in_key(username, ip: str) -> str:
        """The key of ``RATE_LIMIT_TOKEN_PER_USER``: the username tried, from this client IP."""
        name = username if isinstance(username, str) else ""
        return f"{ip}|{name[:100]}"

    @staticmethod
    def link_key(token: str) -> str:
        """The key of ``RATE_LIMIT_PORTAL_PER_LINK``: a digest of the link's token."""
        return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def check(self, name: str, key: str) -> None:
        limit = self.limits.get(name)
        if limit is None or self.limiter.hit(limit, name, key):
            return
        reset_time, _ = self.limiter.get_window_stats(limit, name, key)
        retry_after = max(1, math.ceil(reset_time - time.time()))
        raise TooManyRequests(f"Too many requests; retry in {retry_after} s.",
                              {"retry_after": retry_after, "limit": str(limit)})
