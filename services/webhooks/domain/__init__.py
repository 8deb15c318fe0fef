"""The webhooks rules, as plain functions over plain values (no database, no network, no clock
read): ``signatures`` (Standard Webhooks signing and verifying), ``backoff`` (when a failed delivery
is tried again, and when it gives up), ``addresses`` (which URLs and IP addresses a delivery may go
to: the SSRF rules), ``ordering`` (which deliveries are due, and which wait for an earlier one of the
same key), ``failures`` (when a run of failures disables a subscription)."""
