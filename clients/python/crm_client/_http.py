"""The hand-written core under the generated methods: one ``requests`` session, the bearer
token (signing in again once when it expires, if the client knows the credentials), problem+json
raised as :mod:`crm_client.errors`, and retries that never do a write twice.

When a call is retried (:func:`retry_delay`):

- **429** (rate limited): always -- the gateway refused it before doing anything;
- **503** (a backing service did not answer in time; 502 and 504 from a proxy in front of the
  gateway) and **no answer at all** (connection reset, read timeout): only when repeating it is
  safe -- a GET/HEAD/OPTIONS/PUT/DELETE, or a request carrying an ``Idempotency-Key`` (the gateway
  answers a repeat with the first result, and a 5xx frees the key for the retry). A POST without
  a key is never repeated: it may have been done;
- a **connect timeout** (the request never left): always;
- **409 "still in progress"** with ``Retry-After`` on a keyed request: the first attempt is still
  running; the retry gets its answer.

The wait is the answer's ``Retry-After`` when it gives one (up to ``max_wait``), else exponential
backoff with full jitter (``backoff * 2**attempt``, capped at ``max_wait``).
"""
from __future__ import annotations

import random
import time
import uuid
from typing import Any, Callable, Mapping

import requests

from crm_client.errors import ConnectionFailed, ProblemError, error_class, parse_retry_after, problem_from

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
USER_AGENT = "crm-client-python/0.1"


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def retry_delay(attempt: int, method: str, keyed: bool, *, status: int | None = None,
                retry_after: float | None = None, error: BaseException | None = None,
                max_retries: int = 4, backoff: float = 0.5, max_wait: float = 30.0,
                rand: Callable[[], float] = random.random) -> float | None:
    """Seconds to wait before retry number ``attempt + 1`` (``attempt`` = attempts made so far,
    from 1), or None: do not retry. ``status`` of the answer, or ``error`` when there was none."""
    if attempt > max_retries:
        return None
    safe = method.upper() in SAFE_METHODS or keyed
    if error is not None:
        retry = isinstance(error, requests.ConnectTimeout) or (
            safe and isinstance(error, (requests.ConnectionError, requests.Timeout)))
    elif status == 429:
        retry = True
    elif status in (502, 503, 504):  # 502/504: a proxy in front of the gateway (an ingress) gave up
        retry = safe
    elif status == 409:
        retry = keyed and retry_after is not None
    else:
        retry = False
    if not retry:
        return None
    if retry_after is not None:
        return min(max(retry_after, 0.0), max_wait)
    return min(max_wait, backoff * 2 ** (attempt - 1)) * rand()


class Http:
    """Calls the API at ``base_url`` (``http://host:8000``; the paths carry ``/api/v1``)."""

    def __init__(self, base_url: str, token: str | None = None, *, username: str | None = None,
                 password: str | None = None, session: requests.Session | None = None, timeout: float = 30.0,
                 max_retries: int = 4, backoff: float = 0.5, max_wait: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._credentials = (username, password) if username is not None and password is not None else None
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self.timeout, self.max_retries, self.backoff, self.max_wait = timeout, max_retries, backoff, max_wait
        self.sleep = sleep
        self.attempts = 0  # requests sent, retries included (for the curious and for tests)

    # -- authentication ------------------------------------------------------------------------
    def sign_in(self, username: str, password: str, *, remember: bool = True) -> dict[str, Any]:
        """``POST /api/v1/auth/token``; keeps the token (and, with ``remember``, the credentials, to
        sign in again when the token expires)."""
        token = self.request("POST", "/api/v1/auth/token", json={"username": username, "password": password},
                             auth=False)
        self.token = token["access_token"]
        if remember:
            self._credentials = (username, password)
        return token

    # -- calls -----------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None,
                data: str | bytes | None = None, content_type: str | None = None,
                headers: Mapping[str, str] | None = None, idempotency_key: str | None = None,
                accept: str = "application/json", auth: bool = True) -> Any:
        """One call, retried as the module says; returns the decoded JSON (None for 204), or the text
        of a non-JSON answer (CSV, calendar). Raises a :class:`ProblemError` for 4xx/5xx."""
        method = method.upper()
        send_headers = {"Accept": f"{accept}, application/problem+json"}
        if content_type:
            send_headers["Content-Type"] = content_type
        if idempotency_key:
            send_headers["Idempotency-Key"] = idempotency_key
        send_headers.update(headers or {})
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        url = self.base_url + path
        signed_in_again = False
        attempt = 0
        while True:
            attempt += 1
            if auth and self.token:
                send_headers["Authorization"] = f"Bearer {self.token}"
            self.attempts += 1
            try:
                resp = self.session.request(method, url, params=query, json=json, data=data, headers=send_headers,
                                            timeout=self.timeout)
            except requests.RequestException as exc:
                delay = self._delay(attempt, method, bool(idempotency_key), error=exc)
                if delay is None:
                    raise ConnectionFailed(method, url, exc, attempt) from exc
                self.sleep(delay)
                continue
            if resp.status_code < 400:
                return _decoded(resp)
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            if (resp.status_code == 401 and auth and self._credentials and not signed_in_again
                    and _problem(resp).get("reason") == "expired"):
                signed_in_again = True
                self.sign_in(*self._credentials)
                continue
            delay = self._delay(attempt, method, bool(idempotency_key), status=resp.status_code,
                                retry_after=retry_after)
            if delay is None:
                raise self._error(resp, method, url, retry_after, attempt)
            self.sleep(delay)

    def _delay(self, attempt: int, method: str, keyed: bool, **answer) -> float | None:
        return retry_delay(attempt, method, keyed, max_retries=self.max_retries, backoff=self.backoff,
                           max_wait=self.max_wait, **answer)

    @staticmethod
    def _error(resp: requests.Response, method: str, url: str, retry_after: float | None,
               attempts: int) -> ProblemError:
        cls = error_class(resp.status_code)
        return cls(resp.status_code, _problem(resp), method=method, url=url,
                   request_id=resp.headers.get("X-Request-ID"), retry_after=retry_after, attempts=attempts)


def _problem(resp: requests.Response) -> dict[str, Any]:
    return problem_from(resp.status_code, resp.headers.get("Content-Type", ""), resp.content, resp.reason or "")


def _decoded(resp: requests.Response) -> Any:
    if resp.status_code == 204 or not resp.content:
        return None
    if "json" in resp.headers.get("Content-Type", "").lower():
        return resp.json()
    resp.encoding = resp.encoding or "utf-8"
    return resp.text


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return [_query_value(v) for v in value]
    return value
