"""Signed one-time links: good once, refused when expired, reused, forged, altered or for another purpose."""
from __future__ import annotations

import datetime as dt

import jwt
import pytest

from crm_kit.errors import CrmError, Forbidden, Gone, Unauthorized
from services.support.domain import links

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 12, 3, 10, tzinfo=UTC)
SECRET = "a secret of the support service, long enough for HS256"


STATUS = {"forged": (Unauthorized, 401), "wrong_purpose": (Forbidden, 403),
          "expired": (Gone, 410), "used": (Gone, 410)}


def refused(reason, fn, *args):
    with pytest.raises(CrmError) as caught:
        fn(*args)
    kind, status = STATUS[reason]
    assert isinstance(caught.value, kind) and caught.value.status == status, caught.value
    assert caught.value.extra["reason"] == reason, caught.value.extra
    return caught.value


def test_a_link_reads_back_as_what_was_signed():
    token, link = links.sign(SECRET, "survey", "ticket-1", NOW)
    assert links.read(SECRET, token, "survey", NOW + dt.timedelta(days=13)) == link
    assert link.expires_at == NOW + links.DEFAULT_TTL
    links.refuse_reuse(link, None)                      # never used: fine


def test_expired():
    token, _ = links.sign(SECRET, "survey", "ticket-1", NOW, ttl=dt.timedelta(hours=1))
    assert "expired" in str(refused("expired", links.read, SECRET, token, "survey", NOW + dt.timedelta(hours=1)))


def test_reused():
    token, link = links.sign(SECRET, "reply", "ticket-1", NOW)
    refused("used", links.refuse_reuse, links.read(SECRET, token, "reply", NOW), NOW)


@pytest.mark.parametrize("forge", [
    lambda token: links.sign("another secret, long enough for HS256 too", "survey", "ticket-1", NOW)[0],
    lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),             # signature altered
    lambda token: jwt.encode({"iss": links.ISSUER, "jti": "x", "purpose": "survey", "sub": "ticket-2",
                              "exp": int((NOW + dt.timedelta(days=1)).timestamp())}, None, algorithm="none"),  # bare
    lambda token: "not a token at all",
    lambda token: jwt.encode({"iss": links.ISSUER, "purpose": "survey", "sub": "t"}, SECRET, algorithm="HS256"),
])
def test_forged(forge):
    token, _ = links.sign(SECRET, "survey", "ticket-1", NOW)
    refused("forged", links.read, SECRET, forge(token), "survey", NOW)


def test_another_purpose():
    token, _ = links.sign(SECRET, "survey", "ticket-1", NOW)
    refused("wrong_purpose", links.read, SECRET, token, "reply", NOW)
    with pytest.raises(ValueError):
        links.sign(SECRET, "admin", "ticket-1", NOW)


def test_extra_claims_read_back_and_unknown_ones_are_refused():
    token, link = links.sign(SECRET, "open_ticket", "customer-1", NOW,
                             extra={"contact_id": "contact-1", "group_id": None})
    assert links.read(SECRET, token, "open_ticket", NOW).extra == {"contact_id": "contact-1"} == link.extra
    with pytest.raises(ValueError):
        links.sign(SECRET, "open_ticket", "customer-1", NOW, extra={"role": "admin"})
    with pytest.raises(ValueError):
        links.sign(SECRET, "survey", "ticket-1", NOW, ttl=dt.timedelta(days=91))


def test_the_refusals_say_when():
    token, _ = links.sign(SECRET, "survey", "ticket-1", NOW, ttl=dt.timedelta(hours=1))
    expired = refused("expired", links.read, SECRET, token, "survey", NOW + dt.timedelta(hours=2))
    assert expired.public_extra()["expired_at"] == (NOW + dt.timedelta(hours=1)).isoformat()
    used = refused("used", links.refuse_reuse, links.read(SECRET, token, "survey", NOW), NOW)
    assert used.public_extra() == {"reason": "used", "used_at": NOW.isoformat()}
