"""Password hashing: scrypt (memory-hard, salted), from the standard library.

Stored as ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` so parameters can be
raised later without invalidating existing hashes. Hashing runs in eventlet's
thread pool so a login never stalls the gateway's other requests.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

N, R, P, DKLEN = 2 ** 15, 8, 1, 32
MAXMEM = 64 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    def run():
        return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=DKLEN, maxmem=MAXMEM)
    try:
        from eventlet import tpool
        return tpool.execute(run)
    except ImportError:  # pragma: no cover
        return run()


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(_scrypt(password, salt, N, R, P))}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
        return hmac.compare_digest(actual, base64.b64decode(digest))
    except (ValueError, TypeError):
        return False


# A real hash to check against when the user does not exist, so that timing
# does not reveal which usernames exist.
DUMMY_HASH = f"scrypt${N}${R}${P}${_b64(b'0' * 16)}${_b64(b'0' * DKLEN)}"
