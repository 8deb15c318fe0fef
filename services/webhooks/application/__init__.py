"""The webhooks use cases, a module per subject: ``subscriptions`` (admins manage them), ``intake``
(every consumed event stored with a delivery per matching subscription), ``sending`` (the run-once
sender of due deliveries), ``transport`` (one signed HTTP attempt to a checked address),
``deliveries`` (the delivery log and replays), ``purge`` (what is kept and for how long),
``settings`` (the operator's environment)."""
