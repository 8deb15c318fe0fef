"""The sender: due deliveries out over HTTP, run once at a time across replicas (the kit's periodic
job ``send_webhooks``, every ``WEBHOOKS_SEND_INTERVAL_SECONDS``).

A run goes in rounds until nothing is due (or ``RUN_SECONDS`` passed): a round **claims** up to
``WEBHOOKS_BATCH`` due deliveries of active subscriptions (``claimed_until``: a replica that dies
mid-round leaves them to be claimed again once the lease passes -- at least once, never lost), only
the head of each ordering key of an ordered subscription (``domain/ordering.py``); **sends** them,
``WEBHOOKS_CONCURRENCY`` at a time (green threads; each attempt checks its address again and is
signed then); and **records** the round in one transaction: each delivery's attempt (the log), its
next attempt (``domain/backoff.py``) or its end (succeeded, or failed: gave up), and each
subscription's run of failures -- disabling it, with ``webhook_subscription_disabled``, when the rule
of ``domain/failures.py`` says so.
"""
from __future__ import annotations

import datetime as dt
import logging
import random
import time

from sqlalchemy import func, insert, or_, select, tuple_, update

from crm_kit.ids import new_id
from crm_kit.records.db import utcnow
from crm_kit.runtime.pipeline import in_parallel
from crm_kit.runtime.uow import UnitOfWork
from services.webhooks import metrics
from services.webhooks.application import transport
from services.webhooks.application.settings import Settings, settings
from services.webhooks.application.subscriptions import resolve, signing_secrets
from services.webhooks.domain import backoff, failures
from services.webhooks.domain.ordering import Candidate, sendable
from services.webhooks.events import WEBHOOK_SUBSCRIPTION_DISABLED
from services.webhooks.models import (
    FAILED,
    PENDING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

log = logging.getLogger(__name__)

RUN_SECONDS = 20.0


def send_due(uow: UnitOfWork, as_of: dt.datetime, resolver=resolve, rand=random.random,
             attempt=transport.attempt, config: Settings | None = None) -> dict:
    """Every round until nothing is due; ``{"rounds", "attempts", "succeeded", "failed", "disabled"}``."""
    config = config or settings()
    started = time.monotonic()
    totals = {"rounds": 0, "attempts": 0, "succeeded": 0, "failed": 0, "gave_up": 0, "disabled": 0}
    while time.monotonic() - started < RUN_SECONDS:
        claimed = claim(uow, max(as_of, utcnow()), config)
        if not claimed:
            break
        outcomes = send(claimed, resolver, attempt, config)
        round_totals = record(uow, claimed, outcomes, rand, config)
        totals["rounds"] += 1
        for name, value in round_totals.items():
            totals[name] += value
    return totals


def claim(uow: UnitOfWork, due_by: dt.datetime, config: Settings) -> list[dict]:
    """Lease the deliveries that may go now; each with what its attempt needs."""
    with uow:
        session, now = uow.session, utcnow()
        D, S = WebhookDelivery, WebhookSubscription
        rows = session.execute(
            select(D.id, D.subscription_id, D.order_key, D.event_id, S.ordered)
            .join(S, S.id == D.subscription_id)
            .where(D.status == PENDING, D.next_attempt_at <= due_by, S.active.is_(True),
                   or_(D.claimed_until.is_(None), D.claimed_until < now))
            .order_by(D.event_id, D.id).limit(config.batch)).all()
        candidates = [Candidate(r.id, r.subscription_id, r.order_key, r.event_id, bool(r.ordered)) for r in rows]
        keys = {(c.subscription_id, c.order_key) for c in candidates if c.ordered}
        heads = {}
        if keys:
            heads = {(s, k): first for s, k, first in session.execute(
                select(D.subscription_id, D.order_key, func.min(D.event_id))
                .where(D.status == PENDING, tuple_(D.subscription_id, D.order_key).in_(sorted(keys)))
                .group_by(D.subscription_id, D.order_key)).all()}
        chosen = sendable(candidates, heads)
        if not chosen:
            return []
        ids = [c.delivery_id for c in chosen]
        lease = now + dt.timedelta(seconds=2 * config.timeout + 30)
        session.execute(update(D).where(D.id.in_(ids)).values(claimed_until=lease))
        details = session.execute(
            select(D.id, D.subscription_id, D.event_id, D.attempts, S.url, S.secret, S.previous_secret,
                   S.previous_secret_until, WebhookEvent.body, WebhookEvent.occurred_at)
            .join(S, S.id == D.subscription_id).join(WebhookEvent, WebhookEvent.event_id == D.event_id)
            .where(D.id.in_(ids))).all()
        uow.commit()
    order = {delivery_id: i for i, delivery_id in enumerate(ids)}
    return sorted(({
        "id": d.id, "subscription_id": d.subscription_id, "event_id": d.event_id, "attempts": d.attempts,
        "url": d.url, "secrets": signing_secrets(d, now), "body": d.body.encode(), "occurred_at": d.occurred_at,
    } for d in details), key=lambda d: order[d["id"]])


def send(claimed: list[dict], resolver, attempt, config: Settings) -> dict[str, tuple[dt.datetime, transport.Outcome]]:
    outcomes: dict[str, tuple[dt.datetime, transport.Outcome]] = {}

    def one(delivery: dict) -> None:
        at = utcnow()
        outcome = attempt(delivery["url"], delivery["secrets"], delivery["event_id"], delivery["body"],
                          at.timestamp(), config.timeout, resolver, config.allow_private)
        outcomes[delivery["id"]] = (at, outcome)
        metrics.ATTEMPTS.labels("succeeded" if outcome.succeeded else "failed").inc()
        metrics.ATTEMPT_DURATION.observe(outcome.response_ms / 1000)
        if outcome.succeeded and delivery["occurred_at"] is not None:
            metrics.DELIVERY_LAG.observe(max(0.0, (utcnow() - delivery["occurred_at"]).total_seconds()))

    in_parallel(one, claimed, config.concurrency)
    return outcomes


def record(uow: UnitOfWork, claimed: list[dict], outcomes: dict, rand, config: Settings) -> dict:
    """The round's attempts, the deliveries' next steps and the subscriptions' runs of failures."""
    totals = {"attempts": 0, "succeeded": 0, "failed": 0, "gave_up": 0, "disabled": 0}
    by_subscription: dict[str, list[tuple[dt.datetime, transport.Outcome]]] = {}
    with uow:
        session = uow.session
        D = WebhookDelivery
        attempts = []
        for delivery in claimed:
            if delivery["id"] not in outcomes:
                continue
            at, outcome = outcomes[delivery["id"]]
            number = delivery["attempts"] + 1
            values = {"attempts": number, "claimed_until": None, "last_status_code": outcome.status_code,
                      "last_error": outcome.error, "last_response_ms": outcome.response_ms}
            if outcome.succeeded:
                values.update(status=SUCCEEDED, next_attempt_at=None, completed_at=at)
                totals["succeeded"] += 1
            else:
                totals["failed"] += 1
                again = backoff.next_attempt_at(number, at, rand(), config.schedule, config.jitter)
                if again is None:
                    values.update(status=FAILED, next_attempt_at=None, completed_at=at)
                    totals["gave_up"] += 1
                else:
                    values.update(next_attempt_at=again)
            # a delivery deleted with its subscription meanwhile is left deleted (no row updated)
            session.execute(update(D).where(D.id == delivery["id"], D.status == PENDING).values(**values))
            attempts.append({"id": new_id(), "delivery_id": delivery["id"],
                             "subscription_id": delivery["subscription_id"], "number": number, "started_at": at,
                             "succeeded": outcome.succeeded, "status_code": outcome.status_code,
                             "error": outcome.error, "response_ms": outcome.response_ms,
                             "address": outcome.address})
            by_subscription.setdefault(delivery["subscription_id"], []).append((at, outcome))
            totals["attempts"] += 1
        if attempts:
            session.execute(insert(WebhookAttempt), attempts)
        for subscription_id, results in sorted(by_subscription.items()):
            totals["disabled"] += _run_of_failures(uow, subscription_id, sorted(results, key=lambda r: r[0]), config)
        uow.commit()
    return totals


def _run_of_failures(uow: UnitOfWork, subscription_id: str, results, config: Settings) -> int:
    """Apply the round's results, in time order, to the subscription's run of failures; 1 if that
    disables it. Counters are bookkeeping (no new version); disabling is a change (version, audit, event)."""
    session = uow.session
    S = WebhookSubscription
    row = session.execute(select(S.consecutive_failures, S.failing_since, S.last_success_at, S.active, S.url,
                                 S.version).where(S.id == subscription_id)).first()
    if row is None:
        return 0
    count, since, last_success = row.consecutive_failures, row.failing_since, row.last_success_at
    last_error = None
    for at, outcome in results:
        if outcome.succeeded:
            count, since, last_success = 0, None, at
        else:
            count, since, last_error = count + 1, since or at, outcome.error
    values = {"consecutive_failures": count, "failing_since": since, "last_success_at": last_success}
    now = utcnow()
    rule = failures.disable_rule(count, since, now, config.disable_after_failures, config.disable_after_seconds) \
        if row.active else None
    if rule is None:
        session.execute(update(S).where(S.id == subscription_id).values(**values))
        return 0
    reason = (f"Disabled after {count} failed attempts in a row since {since.isoformat()} "
              f"(the limit: {rule['limit']} over {rule['min_seconds']:g} s); last: {last_error}")[:2000]
    session.execute(update(S).where(S.id == subscription_id).values(
        **values, active=False, disabled_at=now, disabled_reason=reason, version=row.version + 1, updated_at=now))
    uow.audit_record("webhook_subscription", subscription_id,
                     {"active": [True, False], "disabled_reason": [None, reason], "rule": [None, rule]},
                     action="disable")
    uow.emit(WEBHOOK_SUBSCRIPTION_DISABLED, {
        "id": subscription_id, "url": row.url, "consecutive_failures": count, "failing_since": since,
        "disabled_at": now, "last_error": last_error, "rule": rule})
    metrics.DISABLED.inc()
    log.warning("webhook subscription %s disabled: %s", subscription_id, reason,
                extra={"subscription_id": subscription_id})
    return 1



