"""Minting the signed one-time links customers answer through (``domain/links.py``): the secret they
are signed with and the shape every answer gives them (``{link_id, purpose, token, url, expires_at}``).

- ``SUPPORT_LINK_SECRET``: the HS256 key (a Kubernetes Secret in production: every replica needs the
  same one). Unset (a developer machine), a random one is kept in ``var/support_link_secret`` so
  links survive a restart;
- ``SUPPORT_PORTAL_URL``: the customer-facing page a link's ``url`` points at; the token follows as
  the fragment (``<url>#<token>``: a fragment never reaches a server's logs), and the page sends it
  to the gateway as the ``X-Portal-Link`` header.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from sqlalchemy import select

from crm_kit.config import env, var_dir
from services.support.domain import links
from services.support.models import Ticket, TicketSurvey

_key: list[str] = []


def secret() -> str:
    if not _key:
        value = env("SUPPORT_LINK_SECRET")
        if not value:
            path = Path(var_dir()) / "support_link_secret"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(secrets.token_urlsafe(48))
                os.chmod(path, 0o600)
            value = path.read_text().strip()
        _key.append(value)
    return _key[0]


def portal_url() -> str:
    return env("SUPPORT_PORTAL_URL", "http://localhost:8000/portal") or "http://localhost:8000/portal"


def mint(purpose: str, subject_id: str, now: dt.datetime, ttl: dt.timedelta | None = None,
         extra: dict | None = None) -> dict:
    """A new link, as it is handed out."""
    token, link = links.sign(secret(), purpose, subject_id, now, ttl or links.DEFAULT_TTL, extra)
    return {"link_id": link.link_id, "purpose": purpose, "token": token, "url": f"{portal_url()}#{token}",
            "expires_at": link.expires_at}


def read(token, purposes: tuple[str, ...], now: dt.datetime) -> links.Link:
    """The link, for the first of ``purposes`` it is for (else the refusal of the first purpose)."""
    if not isinstance(token, str) or not token:
        return links.read(secret(), "", purposes[0], now)         # refused: forged
    first_refusal = None
    for purpose in purposes:
        try:
            return links.read(secret(), token, purpose, now)
        except Exception as exc:
            if getattr(exc, "extra", {}).get("reason") != "wrong_purpose":
                raise
            first_refusal = first_refusal or exc
    raise first_refusal


def answered(session, ticket_id: str, round_: int) -> bool:
    """Whether the ticket's resolution ``round_`` (its ``reopen_count`` then) was surveyed."""
    return session.scalars(select(TicketSurvey.id).where(
        TicketSurvey.ticket_id == ticket_id, TicketSurvey.resolution_round == round_)).first() is not None


def survey_link(session, ticket: Ticket, now: dt.datetime) -> dict | None:
    """The survey link a resolution (or a closing) hands out; None when it was answered already."""
    if answered(session, ticket.id, ticket.reopen_count or 0):
        return None
    return mint("survey", ticket.id, now)
