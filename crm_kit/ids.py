"""Record ids: time-ordered UUIDv7 strings, so keyset pagination by id follows creation order.

uuid-utils (Rust) makes them in well under a microsecond and keeps them monotonic within a
process (RFC 9562's counter method); an import makes three per row (lead, event, audit entry).
"""
from uuid_utils import uuid7


def new_id() -> str:
    return str(uuid7())
