"""A Python client for the CRM platform's HTTP API.

    from crm_client import Client

    client = Client("http://127.0.0.1:8000")
    client.sign_in("admin", "...")
    lead = client.leads.create(name="Ada Lovelace", phone="13800000000")
    for lead in client.leads.list(status="pending"):
        ...

The methods (``client.<resource>.<operation>``) are generated from the gateway's OpenAPI
document (``crm_client/resources.py``, ``crm_client/models.py``); the retries, the token and the
errors are the hand-written core (``_http.py``, ``errors.py``, ``pages.py``).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import requests

from crm_client._http import Http, new_idempotency_key, retry_delay
from crm_client.errors import (
    ApiError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    Forbidden,
    NotFound,
    ProblemError,
    RateLimited,
    ServerError,
    Unauthorized,
    Unavailable,
    ValidationError,
)
from crm_client.pages import CursorLoop, Pages
from crm_client.resources import Resources

__all__ = [
    "ApiError", "BadRequest", "Client", "Conflict", "ConnectionFailed", "CursorLoop", "Forbidden", "NotFound",
    "Pages", "ProblemError", "RateLimited", "ServerError", "Unauthorized", "Unavailable", "ValidationError",
    "new_idempotency_key", "retry_delay",
]


class Client(Resources):
    """The API at ``base_url``. Give a ``token``, or ``username`` and ``password`` (signs in now, and
    again when the token expires), or call :meth:`sign_in` later.

    ``max_retries``, ``backoff`` and ``max_wait`` shape the retries (``crm_client._http``);
    ``timeout`` is per request, in seconds."""

    def __init__(self, base_url: str, token: str | None = None, *, username: str | None = None,
                 password: str | None = None, timeout: float = 30.0, max_retries: int = 4, backoff: float = 0.5,
                 max_wait: float = 30.0, session: requests.Session | None = None,
                 sleep: Callable[[float], None] | None = None):
        extra = {"sleep": sleep} if sleep is not None else {}
        self.http = Http(base_url, token, session=session, timeout=timeout, max_retries=max_retries,
                         backoff=backoff, max_wait=max_wait, **extra)
        super().__init__(self.http)
        if username is not None and password is not None and token is None:
            self.sign_in(username, password)

    @property
    def token(self) -> str | None:
        return self.http.token

    def sign_in(self, username: str, password: str) -> dict[str, Any]:
        """``POST /api/v1/auth/token``: the client keeps the token, and the credentials to sign in
        again when it expires. Answers the token document (``access_token``, ``expires_in``)."""
        return self.http.sign_in(username, password)

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None,
                headers: Mapping[str, str] | None = None, idempotency_key: str | None = None) -> Any:
        """Any call by hand (``path`` from ``/api/v1``), with the same errors and retries. No
        Idempotency-Key is added here: a POST without one is never retried after a 503."""
        return self.http.request(method, path, params=params, json=json, headers=headers,
                                 idempotency_key=idempotency_key)

    def close(self) -> None:
        self.http.session.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
