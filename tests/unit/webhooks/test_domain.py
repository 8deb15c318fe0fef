"""The webhooks rules as tables: Standard Webhooks signatures (the specification's published
example), the backoff schedule, the SSRF address rules, ordering per key, disabling after failures."""
from __future__ import annotations

import datetime as dt

import pytest

from services.webhooks.domain import addresses, backoff, failures, ordering, signatures

T0 = dt.datetime(2026, 12, 4, 3, 0, tzinfo=dt.timezone.utc)

# -- signatures ---------------------------------------------------------------------------------
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"      # the standard-webhooks libraries' test vector
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_BODY = b'{"test": 2432232314}'
SPEC_TIMESTAMP = 1614265330
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specifications_example_signs_as_published():
    assert signatures.signature(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    # the prefix is optional for the key, as the spec's libraries accept
    bare = SPEC_SECRET.removeprefix("whsec_")
    assert signatures.signature(bare, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def _headers(**override):
    h = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TIMESTAMP), "webhook-signature": SPEC_SIGNATURE}
    h.update(override)
    return {k: v for k, v in h.items() if v is not None}


@pytest.mark.parametrize("headers, body, now, accepted", [
    (_headers(), SPEC_BODY, SPEC_TIMESTAMP, True),
    ({k.upper(): v for k, v in _headers().items()}, SPEC_BODY, SPEC_TIMESTAMP, True),      # names any case
    (_headers(), SPEC_BODY, SPEC_TIMESTAMP + 300, True),                                   # at the tolerance
    (_headers(), SPEC_BODY, SPEC_TIMESTAMP + 301, False),                                  # too old
    (_headers(), SPEC_BODY, SPEC_TIMESTAMP - 301, False),                                  # too new
    (_headers(), b'{"test": 2432232315}', SPEC_TIMESTAMP, False),                          # body changed
    (_headers(**{"webhook-id": "msg_other"}), SPEC_BODY, SPEC_TIMESTAMP, False),          # id changed
    (_headers(**{"webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="}),
     SPEC_BODY, SPEC_TIMESTAMP, False),
    (_headers(**{"webhook-signature": "v2," + SPEC_SIGNATURE[3:]}), SPEC_BODY, SPEC_TIMESTAMP, False),  # not v1
    (_headers(**{"webhook-signature": "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= " + SPEC_SIGNATURE}),
     SPEC_BODY, SPEC_TIMESTAMP, True),                                                    # one of several
    (_headers(**{"webhook-timestamp": "hello"}), SPEC_BODY, SPEC_TIMESTAMP, False),
    (_headers(**{"webhook-id": None}), SPEC_BODY, SPEC_TIMESTAMP, False),
    (_headers(**{"webhook-signature": None}), SPEC_BODY, SPEC_TIMESTAMP, False),
])
def test_verify(headers, body, now, accepted):
    if accepted:
        assert signatures.verify(SPEC_SECRET, headers, body, now) == SPEC_ID
    else:
        with pytest.raises(signatures.SignatureError):
            signatures.verify(SPEC_SECRET, headers, body, now)


def test_a_new_secret_is_a_whsec_base64_key_and_signs_both_during_a_rotation():
    old, new = signatures.new_secret(), signatures.new_secret()
    assert old.startswith("whsec_") and len(signatures.key_of(old)) == signatures.KEY_BYTES and old != new
    h = signatures.headers([new, old], "evt-1", 1700000000, b"{}")
    assert len(h["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        assert signatures.verify(secret, h, b"{}", 1700000000) == "evt-1"
    with pytest.raises(signatures.SignatureError):
        signatures.verify(signatures.new_secret(), h, b"{}", 1700000000)


# -- backoff ------------------------------------------------------------------------------------
@pytest.mark.parametrize("failed, rand, expected_seconds", [
    (1, 0.5, 5), (2, 0.5, 300), (3, 0.5, 1800), (4, 0.5, 7200), (5, 0.5, 18000), (6, 0.5, 36000), (7, 0.5, 36000),
    (1, 0.0, 4), (1, 0.999999, 6), (6, 0.0, 28800), (7, 0.999999, 43200),       # +-20 % jitter
    (8, 0.5, None),                                                           # gave up
])
def test_next_attempt(failed, rand, expected_seconds):
    got = backoff.next_attempt_at(failed, T0, rand)
    if expected_seconds is None:
        assert got is None
    else:
        assert (got - T0).total_seconds() == pytest.approx(expected_seconds, abs=0.1)


def test_the_default_schedule_retries_for_more_than_a_day_even_at_the_lowest_jitter():
    assert backoff.total_window() > 24 * 3600
    assert backoff.total_window() * (1 - backoff.DEFAULT_JITTER) > 22 * 3600     # 22 h at worst...
    assert backoff.max_attempts() == 8


@pytest.mark.parametrize("text, expected", [
    (None, backoff.DEFAULT_SCHEDULE), ("", backoff.DEFAULT_SCHEDULE), ("0.5, 1,2", (0.5, 1.0, 2.0)),
])
def test_parse_schedule(text, expected):
    assert backoff.parse_schedule(text) == expected


@pytest.mark.parametrize("text", ["-1,2", "a,b"])
def test_parse_schedule_refuses(text):
    with pytest.raises(ValueError):
        backoff.parse_schedule(text)


# -- addresses (SSRF) ----------------------------------------------------------------------------
@pytest.mark.parametrize("address, refused", [
    ("93.184.215.14", False), ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", False), ("8.8.8.8", False),
    ("127.0.0.1", True), ("127.5.5.5", True), ("::1", True),
    ("10.0.0.1", True), ("172.16.3.4", True), ("192.168.1.1", True), ("fc00::1", True), ("fd12::1", True),
    ("169.254.169.254", True), ("fe80::1", True), ("100.64.0.1", True), ("0.0.0.0", True), ("::", True),
    ("224.0.0.1", True), ("ff02::1", True), ("192.0.2.1", True), ("240.0.0.1", True), ("255.255.255.255", True),
    ("::ffff:127.0.0.1", True), ("::ffff:10.0.0.1", True), ("::ffff:93.184.215.14", False),
    ("not-an-ip", True),
])
def test_address_refusal(address, refused):
    assert (addresses.refusal(address) is not None) is refused


def _resolver(table):
    def resolve(host, port):
        if host not in table:
            raise OSError("no such host")
        return table[host]
    return resolve


DNS = {"hooks.example.com": ["93.184.215.14"], "mixed.example.com": ["93.184.215.14", "10.1.2.3"],
       "local.example.com": ["127.0.0.1"], "empty.example.com": []}


@pytest.mark.parametrize("url, allow_private, ok", [
    ("https://hooks.example.com/crm?x=1", False, True),
    ("http://hooks.example.com:8080/", False, True),
    ("https://mixed.example.com/", False, False),          # every address is checked
    ("https://local.example.com/", False, False),
    ("https://local.example.com/", True, True),            # the operator allows it
    ("http://127.0.0.1:9000/hook", False, False),
    ("http://127.0.0.1:9000/hook", True, True),
    ("http://[::1]:9000/", False, False),
    ("http://169.254.169.254/latest/meta-data", False, False),
    ("https://unknown.example.com/", False, False),
    ("https://empty.example.com/", False, False),
    ("ftp://hooks.example.com/", False, False),
    ("https://user:pw@hooks.example.com/", False, False),
    ("https://hooks.example.com/#frag", False, False),
    ("https:///nohost", False, False),
    ("https://hooks.example.com:99999/", False, False),
    ("", False, False),
])
def test_check_url(url, allow_private, ok):
    if ok:
        target = addresses.check(url, _resolver(DNS), allow_private)
        assert target.addresses and target.path.startswith("/")
    else:
        with pytest.raises(addresses.AddressRefused):
            addresses.check(url, _resolver(DNS), allow_private)


def test_the_target_keeps_the_host_and_port_and_every_address():
    target = addresses.check("https://hooks.example.com/a/b?c=d", _resolver(DNS))
    assert (target.scheme, target.host, target.port, target.path, target.addresses) == (
        "https", "hooks.example.com", 443, "/a/b?c=d", ("93.184.215.14",))


# -- ordering -------------------------------------------------------------------------------------
@pytest.mark.parametrize("envelope, key", [
    ({"producer": "webhooks", "event_type": "webhook_subscription_disabled", "payload": {"id": "W1"}}, "webhooks:W1"),
    ({"producer": "leads", "event_type": "lead_created", "payload": {"lead_id": "L1", "owner_id": "U1"}}, "leads:L1"),
    ({"producer": "leads", "event_type": "lead_status_changed", "payload": {"lead_id": "L1"}}, "leads:L1"),
    ({"producer": "customers", "event_type": "follow_up_recorded",
      "payload": {"follow_up_id": "F1", "customer_id": "C1"}}, "customers:F1"),
    ({"producer": "customers", "event_type": "customers_merged", "payload": {"merged_id": "C1"}}, "customers"),
    ({"producer": "leads", "event_type": "lead_created", "payload": {"lead_id": 5}}, "leads"),
    ({"producer": "billing", "event_type": "x", "payload": {}}, "billing"),
    ({"producer": "billing", "payload": None}, "billing"),
])
def test_order_key(envelope, key):
    assert ordering.order_key(envelope) == key


def C(delivery, sub, key, event, ordered):
    return ordering.Candidate(delivery, sub, key, event, ordered)


@pytest.mark.parametrize("candidates, heads, sent", [
    # unordered: everything due goes
    ([C("d1", "s", "k", "e1", False), C("d2", "s", "k", "e2", False)], {}, ["d1", "d2"]),
    # ordered: only the head of its key, one per key per round
    ([C("d1", "s", "k", "e1", True), C("d2", "s", "k", "e2", True)], {("s", "k"): "e1"}, ["d1"]),
    # ordered: an earlier one of the key is still pending (retrying, or in flight): the next waits
    ([C("d2", "s", "k", "e2", True)], {("s", "k"): "e1"}, []),
    # other keys go in parallel
    ([C("d1", "s", "k1", "e1", True), C("d2", "s", "k2", "e2", True)], {("s", "k1"): "e1", ("s", "k2"): "e2"},
     ["d1", "d2"]),
    # another subscription's order is its own
    ([C("d1", "s1", "k", "e1", True), C("d2", "s2", "k", "e1", True)], {("s1", "k"): "e0", ("s2", "k"): "e1"}, ["d2"]),
])
def test_sendable(candidates, heads, sent):
    assert [c.delivery_id for c in ordering.sendable(candidates, heads)] == sent


# -- disabling ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("count, since_seconds_ago, limit, min_seconds, disabled", [
    (0, None, 100, 0, False),
    (99, 10 * 86400, 100, 5 * 86400, False),       # not enough attempts
    (100, 4 * 86400, 100, 5 * 86400, False),       # not long enough
    (100, 5 * 86400, 100, 5 * 86400, True),
    (3, 0, 3, 0, True),
])
def test_disable_rule(count, since_seconds_ago, limit, min_seconds, disabled):
    since = None if since_seconds_ago is None else T0 - dt.timedelta(seconds=since_seconds_ago)
    rule = failures.disable_rule(count, since, T0, limit, min_seconds)
    assert (rule is not None) is disabled
    if rule:
        assert rule["rule"] == failures.RULE and rule["consecutive_failures"] == count and rule["limit"] == limit


def test_the_default_disabling_comes_after_any_deliverys_retries():
    assert failures.DEFAULT_MIN_SECONDS > backoff.total_window() * (1 + backoff.DEFAULT_JITTER)
