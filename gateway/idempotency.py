"""``Idempotency-Key`` on creates: the same key and body within 24 hours returns
the first answer instead of creating twice (api.md).

The first request with a key stores a pending record (its primary key is
(user, key), so a concurrent duplicate is refused with 409 while the first
runs), then the answer. A 5xx answer is not kept: the client may retry with
the same key. The same key with a different request is refused (422).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Callable

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from crm_kit.db import utcnow
from crm_kit.errors import Conflict, ValidationFailed
from crm_kit.uow import UnitOfWork
from gateway.models import IdempotencyRecord

TTL = dt.timedelta(hours=24)
MAX_KEY = 200
KEPT_HEADERS = ("Location", "Content-Type")


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\0".join([method.encode(), path.encode(), body])).hexdigest()


def run(uow: UnitOfWork, user_id: str, key: str, method: str, path: str, body: bytes,
        produce: Callable[[], Response]) -> Response:
    if not key or len(key) > MAX_KEY:
        raise ValidationFailed.from_messages({"Idempotency-Key": [f"Must be 1 to {MAX_KEY} characters."]})
    digest = request_hash(method, path, body)
    with uow:
        session = uow.session
        record = session.get(IdempotencyRecord, (user_id, key))
        if record is not None and record.created_at < utcnow() - TTL:
            session.delete(record)
            session.flush()
            record = None
        if record is not None:
            if record.request_hash != digest:
                raise ValidationFailed.from_messages(
                    {"Idempotency-Key": ["This key was already used with a different request."]})
            if record.status is None:
                raise Conflict("A request with this Idempotency-Key is still in progress.")
            response = Response(record.body, status=record.status, headers=record.headers or {})
            response.headers["Idempotent-Replayed"] = "true"
            return response
        session.add(IdempotencyRecord(user_id=user_id, key=key, method=method, path=path,
                                      request_hash=digest, status=None, created_at=utcnow()))
        try:
            uow.commit()
        except IntegrityError:
            raise Conflict("A request with this Idempotency-Key is still in progress.") from None

    response = produce()
    with uow:
        record = uow.session.get(IdempotencyRecord, (user_id, key))
        if response.status_code >= 500:
            uow.session.delete(record)
        else:
            record.status = response.status_code
            record.body = response.get_data(as_text=True)
            record.headers = {h: response.headers[h] for h in KEPT_HEADERS if h in response.headers}
        uow.commit()
    return response


def purge_expired(uow: UnitOfWork) -> int:
    with uow:
        result = uow.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - TTL))
        uow.commit()
        return result.rowcount or 0
