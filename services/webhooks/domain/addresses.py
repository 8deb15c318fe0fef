"""Where a delivery may go: the SSRF rules.

A subscription's URL is ``http`` or ``https`` with a host name or address, no user name or password
in it, and no fragment. Its host is resolved and **every** address it resolves to must be public
(``ipaddress``'s ``is_global``, and not multicast): loopback, private (RFC 1918, ``fc00::/7``),
link-local (``169.254.0.0/16`` -- the cloud metadata address --, ``fe80::/10``), carrier-grade NAT
(``100.64.0.0/10``), unspecified, reserved and documentation ranges are refused, IPv4-mapped IPv6
addresses as the IPv4 address they map. The check runs when the subscription is created or changed
and again before every attempt (DNS rebinding: a name that resolved to a public address then may
resolve to ``127.0.0.1`` now); the attempt then connects to the address it checked, never to a
second resolution.

An operator allows private and loopback targets with ``WEBHOOKS_ALLOW_PRIVATE=true`` (a test
platform, an on-premises receiver): ``allow_private``.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Callable, Iterable
from urllib.parse import urlsplit

SCHEMES = {"http": 80, "https": 443}
MAX_URL = 2000


class AddressRefused(ValueError):
    """A URL a delivery may not go to; ``reason`` is what the client is told."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str          # as written (the Host header, TLS server name)
    port: int
    path: str          # path and query
    addresses: tuple[str, ...]   # every checked address, in resolution order


def parse(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path?query)`` of an acceptable URL, or ``AddressRefused``."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise AddressRefused(f"The URL must be 1 to {MAX_URL} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AddressRefused("The URL cannot be parsed.") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise AddressRefused("The URL must be http or https.")
    if parts.username is not None or parts.password is not None:
        raise AddressRefused("The URL may not hold a user name or password.")
    if parts.fragment:
        raise AddressRefused("The URL may not have a fragment.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise AddressRefused("The URL has no host.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or SCHEMES[scheme], path


def refusal(address: str) -> str | None:
    """Why a delivery may not go to ``address``, or None when it is public."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address} is not an IP address"
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    if ip.is_loopback:
        return f"{address} is a loopback address"
    if ip.is_link_local:
        return f"{address} is a link-local address"
    if ip.is_multicast:
        return f"{address} is a multicast address"
    if ip.is_unspecified:
        return f"{address} is the unspecified address"
    if not ip.is_global:
        return f"{address} is a private or reserved address"
    return None


def check(url: str, resolve: Callable[[str, int], Iterable[str]], allow_private: bool = False) -> Target:
    """The target of ``url`` with its host resolved by ``resolve(host, port)`` (addresses as text);
    ``AddressRefused`` if the URL is not acceptable, the host does not resolve, or (unless
    ``allow_private``) any of its addresses is not public."""
    scheme, host, port, path = parse(url)
    try:
        ipaddress.ip_address(host.strip("[]"))
        addresses = [host.strip("[]")]
    except ValueError:
        try:
            addresses = list(dict.fromkeys(resolve(host, port)))
        except OSError:
            raise AddressRefused(f"The host {host} does not resolve.") from None
    if not addresses:
        raise AddressRefused(f"The host {host} does not resolve.")
    if not allow_private:
        for address in addresses:
            why = refusal(address)
            if why:
                raise AddressRefused(f"The URL's host {host} resolves to {why}; deliveries go to public "
                                     "addresses only (an operator allows others: WEBHOOKS_ALLOW_PRIVATE).")
    return Target(scheme, host, port, path, tuple(addresses))
