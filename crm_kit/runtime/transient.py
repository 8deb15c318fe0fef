"""Which failures are the infrastructure's, not the request's or the message's.

A database or broker that cannot be reached, a connection cut mid-statement, a pool with no
connection to give, a deadlock or serialization failure, SQLite's "database is locked": all say
nothing about the request or the message, and go away by themselves. So:

- an RPC that meets one answers :class:`~crm_kit.errors.ServiceUnavailable` (503, ``Retry-After``),
  never 500 (``crm_kit.runtime.entrypoints``);
- an event handler that meets one keeps the message in its queue and tries again, backing off, for
  as long as it lasts; it does not count as one of the message's attempts and never parks it
  (only failures of the message itself are parked);
- the gateway's RPC client turns a broker it cannot reach into a 503 (``crm_kit.runtime.rpc_client``).
"""
from __future__ import annotations

import socket

from sqlalchemy import exc as sa_exc

from crm_kit.errors import ServiceUnavailable

RETRY_AFTER_SECONDS = 2

# PEP 249 names: the driver's own classes (psycopg2, sqlite3) where SQLAlchemy did not wrap them.
_DBAPI_TRANSIENT = ("OperationalError", "InterfaceError")


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ServiceUnavailable):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))
    if isinstance(exc, (sa_exc.DisconnectionError, sa_exc.TimeoutError)):
        return True
    if any(cls.__name__ in _DBAPI_TRANSIENT and cls.__module__.split(".")[0] in ("psycopg2", "sqlite3")
           for cls in type(exc).__mro__):
        return True
    return is_broker_error(exc)


def is_broker_error(exc: BaseException) -> bool:
    """The broker could not be reached or dropped the connection (kombu, py-amqp, the socket)."""
    from amqp.exceptions import ConnectionError as AmqpConnectionError
    from amqp.exceptions import RecoverableConnectionError
    from kombu.exceptions import OperationalError as KombuOperationalError
    return isinstance(exc, (KombuOperationalError, AmqpConnectionError, RecoverableConnectionError,
                            ConnectionError, socket.timeout, socket.gaierror, TimeoutError))


def unavailable(service: str, exc: BaseException, what: str | None = None) -> ServiceUnavailable:
    """The 503 a service answers when ``exc`` (transient) stopped it."""
    if isinstance(exc, ServiceUnavailable):
        return exc
    what = what or ("the message broker" if is_broker_error(exc) else "its database")
    return ServiceUnavailable(f"The {service} service cannot reach {what} right now. Retry shortly.",
                              {"service": service, "retry_after": RETRY_AFTER_SECONDS})
