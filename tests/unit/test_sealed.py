"""Values sealed at rest (``crm_kit.records.sealed``): sealed and opened with the keys of a variable,
a rotation (a new key first, the old one after it) still opening the old values, a dropped key
refused loudly; the webhooks' signing secrets stored sealed; their migration sealing the secrets a
database kept as they were."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from crm_kit.ops.migrations import upgrade
from crm_kit.records import sealed
from services.webhooks.application import subscriptions
from services.webhooks.models import Base, WebhookSubscription
from tests.unit.conftest import ADMIN

KEY_A, KEY_B = "a" * 40, "b" * 40


def test_sealed_values_open_with_the_keys_and_a_rotation_keeps_the_old_ones(monkeypatch):
    monkeypatch.setenv("TEST_SEALING_KEYS", KEY_A)
    token = sealed.seal("TEST_SEALING_KEYS", "whsec_secret")
    assert "whsec" not in token and token != sealed.seal("TEST_SEALING_KEYS", "whsec_secret")   # own IV
    assert sealed.open_sealed("TEST_SEALING_KEYS", token) == "whsec_secret"
    monkeypatch.setenv("TEST_SEALING_KEYS", f"{KEY_B},{KEY_A}")        # rotated: B seals, A still opens
    assert sealed.open_sealed("TEST_SEALING_KEYS", token) == "whsec_secret"
    newer = sealed.seal("TEST_SEALING_KEYS", "whsec_other")
    monkeypatch.setenv("TEST_SEALING_KEYS", KEY_B)                      # A dropped
    assert sealed.open_sealed("TEST_SEALING_KEYS", newer) == "whsec_other"
    with pytest.raises(sealed.SealedValueError):
        sealed.open_sealed("TEST_SEALING_KEYS", token)


def test_a_short_key_is_refused(monkeypatch):
    monkeypatch.setenv("TEST_SEALING_KEYS", "short")
    with pytest.raises(ValueError, match="shorter than 32"):
        sealed.seal("TEST_SEALING_KEYS", "x")


def test_without_the_variable_a_development_key_is_kept_in_var(monkeypatch, tmp_path):
    monkeypatch.delenv("TEST_SEALING_KEYS", raising=False)
    monkeypatch.setenv("CRM_VAR_DIR", str(tmp_path))
    token = sealed.seal("TEST_SEALING_KEYS", "v")
    kept = tmp_path / "test_sealing_keys.key"
    assert kept.exists() and oct(kept.stat().st_mode & 0o777) == "0o600"
    assert sealed.open_sealed("TEST_SEALING_KEYS", token) == "v"


def test_a_webhook_secret_is_stored_sealed(make_db, monkeypatch):
    monkeypatch.setenv("WEBHOOKS_SEALING_KEYS", KEY_A)
    monkeypatch.setenv("WEBHOOKS_ALLOW_PRIVATE", "true")        # (the URL is checked: no DNS here)
    db = make_db(Base, "webhooks")
    created = subscriptions.create_webhook_subscription(
        db.uow(), ADMIN, {"url": "http://127.0.0.1:9/crm", "event_types": ["lead_created"]})
    assert created["secret"].startswith("whsec_")
    with db.session() as s:
        stored = s.execute(text("SELECT secret FROM webhook_subscriptions")).scalar_one()
        assert "whsec_" not in stored
        assert s.get(WebhookSubscription, created["id"]).secret == created["secret"]


def test_the_migration_seals_the_secrets_kept_as_they_were(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBHOOKS_SEALING_KEYS", KEY_A)
    url = f"sqlite:///{tmp_path / 'webhooks.db'}"
    upgrade("webhooks", url, revision="25131d5f0153")       # before the sealing
    engine = create_engine(url)
    try:
        with engine.begin() as c:
            c.execute(text("INSERT INTO webhook_subscriptions (id, url, secret, previous_secret, ordered, active, "
                           "consecutive_failures, created_at, updated_at, version) VALUES ('s1', 'https://x.test/h', "
                           "'whsec_plain', NULL, 0, 1, 0, '2026-12-01 00:00:00', '2026-12-01 00:00:00', 1)"))
        upgrade("webhooks", url)
        with engine.connect() as c:
            stored = c.execute(text("SELECT secret FROM webhook_subscriptions")).scalar_one()
    finally:
        engine.dispose()
    assert stored != "whsec_plain" and sealed.open_sealed("WEBHOOKS_SEALING_KEYS", stored) == "whsec_plain"
