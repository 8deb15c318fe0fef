"""Standard Webhooks signatures (https://www.standardwebhooks.com/, the spec's "Signature scheme").

Each delivery carries three headers:

- ``webhook-id``         the message id (here: the event id; the same on every retry and replay)
- ``webhook-timestamp``  integer Unix seconds when this attempt was signed
- ``webhook-signature``  ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``; several
                         space-separated signatures during a secret rotation's overlap

The secret is ``whsec_`` followed by the base64 of the key (24 random bytes here, as the spec's
examples); the HMAC key is the decoded bytes. ``verify`` is what a receiver runs (the tests' receiver
does, and the README shows it): every listed ``v1`` signature is compared in constant time, the
timestamp must be within ``tolerance`` of now (replayed captures are refused).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
KEY_BYTES = 24
TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """A delivery that does not verify (missing header, stale timestamp, no matching signature)."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def key_of(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret (the prefix is optional, as the spec's libraries accept)."""
    text = secret[len(PREFIX):] if secret.startswith(PREFIX) else secret
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the secret is not base64") from None


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64>`` of ``{msg_id}.{timestamp}.{body}``."""
    signed = f"{msg_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(key_of(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets_: list[str] | str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of one attempt; one signature per secret (the new one first while a
    rotated-out one is still honoured)."""
    keys = [secrets_] if isinstance(secrets_, str) else list(secrets_)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(timestamp)),
            "webhook-signature": " ".join(signature(s, msg_id, timestamp, body) for s in keys)}


def verify(secret: str, headers_: dict, body: bytes, now: float, tolerance: int = TOLERANCE_SECONDS) -> str:
    """The message id if ``headers_`` sign ``body`` with ``secret`` at a time close to ``now``;
    ``SignatureError`` otherwise. Header names are matched case-insensitively."""
    lower = {k.lower(): v for k, v in headers_.items()}
    msg_id, stamp, listed = (lower.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not msg_id or not stamp or not listed:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureError("webhook-timestamp is not an integer") from None
    if abs(now - timestamp) > tolerance:
        raise SignatureError("webhook-timestamp is too old or too new")
    expected = signature(secret, msg_id, timestamp, body).split(",", 1)[1]
    for candidate in listed.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected.encode()):
            return msg_id
    raise SignatureError("no signature matches")
