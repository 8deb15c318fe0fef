"""Record ids: time-ordered UUIDv7 strings, so keyset pagination by id follows creation order."""
from uuid6 import uuid7


def new_id() -> str:
    return str(uuid7())
