"""Webhook subscriptions: administrators create, read, change, delete them and rotate their secret
(403 for everyone else). The URL is checked against the SSRF rules (``domain/addresses.py``) on
create and on change (and again before every attempt). The secret is shown on create and on rotate
only; after a rotation the old secret keeps signing beside the new one for
``WEBHOOKS_ROTATION_OVERLAP_SECONDS`` (receivers switch without losing a delivery). Making a
disabled subscription active again clears its run of failures: its pending deliveries go out."""
from __future__ import annotations

import datetime as dt
import socket

from sqlalchemy import delete, select

from crm_kit.context import Principal
from crm_kit.errors import NotFound, ValidationFailed
from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.records.pagination import paginate
from crm_kit.records.schemas import load
from crm_kit.records.scopes import require_admin
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork
from services.webhooks.application.settings import settings
from services.webhooks.domain import addresses, signatures
from services.webhooks.models import PENDING, WebhookDelivery, WebhookSubscription, WebhookSubscriptionEventType
from services.webhooks.schemas.subscriptions import (
    WebhookSubscriptionCreate,
    WebhookSubscriptionListQuery,
    WebhookSubscriptionOut,
    WebhookSubscriptionUpdate,
    WebhookSubscriptionWithSecretOut,
)

_create, _update, _query = WebhookSubscriptionCreate(), WebhookSubscriptionUpdate(), WebhookSubscriptionListQuery()
_out, _with_secret = WebhookSubscriptionOut(), WebhookSubscriptionWithSecretOut()


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6), as text."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def check_url(url: str, resolver=resolve) -> addresses.Target:
    try:
        return addresses.check(url, resolver, allow_private=settings().allow_private)
    except addresses.AddressRefused as exc:
        raise ValidationFailed.from_messages({"url": [exc.reason]}) from None


def _event_types(subscription: WebhookSubscription, names: list[str]) -> None:
    subscription.event_type_rows = [WebhookSubscriptionEventType(subscription_id=subscription.id, event_type=n)
                                    for n in sorted(set(names))]


def create_webhook_subscription(uow: UnitOfWork, principal: Principal, data: dict, resolver=resolve) -> dict:
    require_admin(principal, "create_webhook_subscription")
    fields = load(_create, data)
    check_url(fields["url"], resolver)
    with uow:
        now = utcnow()
        subscription = WebhookSubscription(
            id=new_id(), url=fields["url"], description=fields["description"], secret=signatures.new_secret(),
            ordered=fields["ordered"], active=fields["active"], consecutive_failures=0,
            created_by=principal.user_id, created_at=now, updated_at=now, version=1)
        _event_types(subscription, fields["event_types"])
        uow.session.add(subscription)
        uow.audit_action("create")
        uow.session.flush()
        return uow.commit(lambda: _with_secret.dump(subscription))


def _get(session, subscription_id: str) -> WebhookSubscription:
    subscription = session.get(WebhookSubscription, subscription_id) if isinstance(subscription_id, str) else None
    if subscription is None:
        raise NotFound.of("webhook_subscription", str(subscription_id))
    return subscription


def get_webhook_subscription(uow: UnitOfWork, principal: Principal, subscription_id: str) -> dict:
    require_admin(principal, "read_webhook_subscriptions")
    with uow:
        return _out.dump(_get(uow.session, subscription_id))


def list_webhook_subscriptions(uow: UnitOfWork, principal: Principal, query: dict | None = None) -> dict:
    require_admin(principal, "read_webhook_subscriptions")
    params = load(_query, query or {})
    stmt = select(WebhookSubscription)
    if params["active"] is not None:
        stmt = stmt.where(WebhookSubscription.active.is_(params["active"]))
    with uow:
        rows, next_cursor = paginate(uow.session, stmt, WebhookSubscription.id, params["limit"], params["cursor"])
        return {"items": [_out.dump(r) for r in rows], "next_cursor": next_cursor}


def update_webhook_subscription(uow: UnitOfWork, principal: Principal, subscription_id: str, data: dict,
                                expected_version=None, resolver=resolve) -> dict:
    require_admin(principal, "update_webhook_subscription")
    fields = load(_update, data, partial=True)
    if "url" in fields:
        check_url(fields["url"], resolver)
    with uow:
        subscription = _get(uow.session, subscription_id)
        check_version(subscription, expected_version, "webhook_subscription")
        if "event_types" in fields:
            _event_types(subscription, fields.pop("event_types"))
        if fields.get("active") and not subscription.active:
            subscription.disabled_at = subscription.disabled_reason = subscription.failing_since = None
            subscription.consecutive_failures = 0
        for name, value in fields.items():
            setattr(subscription, name, value)
        subscription.updated_at = utcnow()
        uow.audit_action("update")
        uow.session.flush()
        return uow.commit(lambda: _out.dump(subscription))


def delete_webhook_subscription(uow: UnitOfWork, principal: Principal, subscription_id: str,
                                expected_version=None) -> dict:
    """The subscription goes, and its pending deliveries with it (nothing more is sent to it); the log of
    finished deliveries stays until it is purged with age."""
    require_admin(principal, "delete_webhook_subscription")
    with uow:
        subscription = _get(uow.session, subscription_id)
        check_version(subscription, expected_version, "webhook_subscription")
        uow.session.execute(delete(WebhookDelivery).where(
            WebhookDelivery.subscription_id == subscription.id, WebhookDelivery.status == PENDING))
        uow.session.delete(subscription)
        uow.audit_action("delete")
        uow.session.flush()
        return uow.commit({"id": subscription_id, "deleted": True})


def rotate_webhook_secret(uow: UnitOfWork, principal: Principal, subscription_id: str,
                          expected_version=None) -> dict:
    """A new secret, shown now; the old one signs beside it for the overlap."""
    require_admin(principal, "rotate_webhook_secret")
    with uow:
        subscription = _get(uow.session, subscription_id)
        check_version(subscription, expected_version, "webhook_subscription")
        now = utcnow()
        subscription.previous_secret = subscription.secret
        subscription.previous_secret_until = now + dt.timedelta(seconds=settings().rotation_overlap)
        subscription.secret = signatures.new_secret()
        subscription.updated_at = now
        uow.audit_action("rotate_secret")
        uow.session.flush()
        return uow.commit(lambda: _with_secret.dump(subscription))


def signing_secrets(subscription, now: dt.datetime) -> list[str]:
    """The secrets an attempt is signed with: the current one, and the rotated-out one in its overlap."""
    keys = [subscription.secret]
    if subscription.previous_secret and subscription.previous_secret_until and now < subscription.previous_secret_until:
        keys.append(subscription.previous_secret)
    return keys
