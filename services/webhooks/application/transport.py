"""One attempt: the URL's host resolved and every address checked again (DNS rebinding), then a
signed POST to the first checked address -- never a second resolution -- with the ``Host`` header and
the TLS server name of the URL's host (urllib3, certificates verified). Redirects are not followed (a
3xx is a failure: the receiver's URL is the one the admin gave). Green under eventlet: a pool of
attempts runs at once (``sending``)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import urllib3

from services.webhooks.domain import addresses, signatures

USER_AGENT = "crm-webhooks/1"
MAX_ERROR = 500


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    status_code: int | None
    error: str | None
    response_ms: int
    address: str | None


def attempt(url: str, secrets_: list[str], msg_id: str, body: bytes, now: float, timeout: float,
            resolver, allow_private: bool) -> Outcome:
    started = time.perf_counter()

    def took() -> int:
        return int(round((time.perf_counter() - started) * 1000))

    try:
        target = addresses.check(url, resolver, allow_private=allow_private)
    except addresses.AddressRefused as exc:
        return Outcome(False, None, f"refused: {exc.reason}"[:MAX_ERROR], took(), None)
    address = target.addresses[0]
    default_port = target.port == addresses.SCHEMES[target.scheme]
    headers = {"content-type": "application/json", "user-agent": USER_AGENT,
               "host": target.host if default_port else f"{target.host}:{target.port}",
               **signatures.headers(secrets_, msg_id, int(now), body)}
    kwargs = {"timeout": urllib3.Timeout(connect=timeout, read=timeout), "retries": False, "maxsize": 1}
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, target.port, server_hostname=target.host,
                                           assert_hostname=target.host, cert_reqs="CERT_REQUIRED", **kwargs)
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, **kwargs)
    try:
        response = pool.urlopen("POST", target.path, body=body, headers=headers, redirect=False,
                                assert_same_host=False, preload_content=False)
        try:
            response.read(4096)     # what it says is not kept: only its status
        finally:
            response.release_conn()
        status = response.status
        ok = 200 <= status < 300
        return Outcome(ok, status, None if ok else f"HTTP {status}", took(), address)
    except Exception as exc:   # timeouts, refused connections, TLS errors: the attempt failed
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR], took(), address)
    finally:
        pool.close()
