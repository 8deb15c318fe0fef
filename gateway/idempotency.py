"""``Idempotency-Key`` on writes (creates, actions, updates, deletes): the same key and body within 24 hours returns
the first answer instead of creating twice (api.md).

The first request with a key stores a pending record (its primary key is
(user, key)) holding the key for a *lease* (``lease_until``), then runs, then
stores its answer:

- a 2xx or 4xx answer (a typed error of the service included: 422, 409...) is
  kept, and every retry with the same key and body gets it back
  (``Idempotent-Replayed: true``);
- a 5xx answer (a 503 at the RPC deadline, a 500) frees the key: the request was
  not done, or the service answers a retry from its own record of it (the
  worker context carries :func:`context_key`, the same on every retry);
- an attempt that never finishes (the gateway died mid-request) holds the key
  until its lease ends; then the next retry takes the key over. The lease
  outlasts the RPC deadline (``RPC_TIMEOUT_SECONDS``) by ``LEASE_MARGIN``, so a
  live attempt is never overtaken.

While an attempt holds the key, a concurrent duplicate is refused with 409 and
``Retry-After``. The same key with a different request is refused (422).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Callable

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from crm_kit.errors import Conflict, ValidationFailed
from crm_kit.records.db import utcnow
from crm_kit.runtime.uow import UnitOfWork
from gateway import problems
from gateway.models import IdempotencyRecord

TTL = dt.timedelta(hours=24)
LEASE_MARGIN = dt.timedelta(seconds=10)   # past the RPC deadline (and its reply grace) before a takeover
RETRY_IN_PROGRESS = 1                     # seconds, the Retry-After of "still in progress"
MAX_KEY = 200
KEY_PATTERN = r"^[!-~]{1,%d}$" % MAX_KEY  # visible ASCII: a UUID, a hash, a client's counter...
KEPT_HEADERS = ("Location", "Content-Type")


def lease_for(rpc_timeout: float) -> dt.timedelta:
    """How long an attempt holds its key: the RPC deadline plus a margin."""
    return dt.timedelta(seconds=rpc_timeout) + LEASE_MARGIN


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\0".join([method.encode(), path.encode(), body])).hexdigest()


def context_key(user_id: str, key: str, method: str, path: str) -> str:
    """The key this request carries to the service (worker context ``crm_idempotency_key``): the same
    on every retry of it by the same user, different for another user, key, method or path."""
    parts = [user_id, key, method, path]
    return hashlib.sha256(b"\0".join(p.encode("utf-8", "surrogatepass") for p in parts)).hexdigest()


def _in_progress() -> Conflict:
    return Conflict("A request with this Idempotency-Key is still in progress; retry shortly.",
                    {"retry_after": RETRY_IN_PROGRESS})


def run(uow: UnitOfWork, user_id: str, key: str, method: str, path: str, body: bytes,
        produce: Callable[[], Response], lease: dt.timedelta) -> Response:
    if not re.fullmatch(KEY_PATTERN, key):
        raise ValidationFailed.from_messages(
            {"Idempotency-Key": [f"Must be 1 to {MAX_KEY} visible ASCII characters (no spaces)."]})
    digest = request_hash(method, path, body)
    replay, mine = _claim(uow, user_id, key, method, path, digest, lease)
    if replay is not None:
        return replay
    try:
        response = produce()
    except Exception as exc:  # a typed error is this request's answer too (a 4xx is kept)
        response = problems.from_exception(exc, path)
    _finish(uow, user_id, key, mine, response)
    return response


def _claim(uow: UnitOfWork, user_id: str, key: str, method: str, path: str, digest: str,
           lease: dt.timedelta) -> tuple[Response | None, dt.datetime | None]:
    """Take the key for this attempt: ``(None, its lease)``; or answer now: ``(the stored answer, None)``,
    409 or 422."""
    now = utcnow()
    mine = now + lease
    with uow:
        session = uow.session
        record = session.get(IdempotencyRecord, (user_id, key))
        if record is not None and record.created_at < now - TTL:
            session.delete(record)
            session.flush()
            record = None
        if record is None:
            session.add(IdempotencyRecord(user_id=user_id, key=key, method=method, path=path, request_hash=digest,
                                          status=None, created_at=now, lease_until=mine))
            try:
                uow.commit()
            except IntegrityError:      # a concurrent first attempt inserted it first
                raise _in_progress() from None
            return None, mine
        if record.request_hash != digest:
            raise ValidationFailed.from_messages(
                {"Idempotency-Key": ["This key was already used with a different request."]})
        if record.status is not None:
            response = Response(record.body, status=record.status, headers=record.headers or {})
            response.headers["Idempotent-Replayed"] = "true"
            return response, None
        if record.lease_until is not None and record.lease_until > now:
            raise _in_progress()
        # The attempt holding it is gone (its lease is over): take the key over, unless another retry just did.
        taken = session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key,
                   IdempotencyRecord.status.is_(None),
                   or_(IdempotencyRecord.lease_until.is_(None), IdempotencyRecord.lease_until <= now))
            .values(lease_until=mine)
            .execution_options(synchronize_session=False)).rowcount
        if taken != 1:
            raise _in_progress()
        uow.commit()
        return None, mine


def _finish(uow: UnitOfWork, user_id: str, key: str, mine: dt.datetime, response: Response) -> None:
    """Keep the answer, or free the key on a 5xx; only while this attempt still holds the key (one that
    outlived its lease leaves the key to the retry that took it over)."""
    with uow:
        held = (IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key,
                IdempotencyRecord.status.is_(None), IdempotencyRecord.lease_until == mine)
        if response.status_code >= 500:
            uow.session.execute(delete(IdempotencyRecord).where(*held).execution_options(synchronize_session=False))
        else:
            uow.session.execute(update(IdempotencyRecord).where(*held).values(
                status=response.status_code, body=response.get_data(as_text=True), lease_until=None,
                headers={h: response.headers[h] for h in KEPT_HEADERS if h in response.headers})
                .execution_options(synchronize_session=False))
        uow.commit()


def purge_expired(uow: UnitOfWork) -> int:
    with uow:
        result = uow.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - TTL))
        uow.commit()
        return result.rowcount or 0
