"""Billing's use cases, a module per subject (plain Python over a unit of work): import the
subject's module, ``from services.billing.application import payments``.

- ``access``: the data scopes with finance's (``domain.review``); ``numbers``: taking a number;
- ``books``: a receivable's ``domain.ledger.Book`` loaded from its rows, and its figures written back;
- ``receivables``: opened by ``order_approved``, closed by ``order_cancelled``, read, listed, written off;
- ``plans``: a receivable's payment plan; ``payments``: submitted, confirmed, rejected; ``refunds``;
- ``overdue``: the overdue timer (and its run now, ``dry_run``); ``reminders``: instalment reminders;
- ``invoices``: requested, reviewed by finance (approve, reject), issued, voided;
- ``dunning``: the dunning run and its timer; ``aging``: the aging report, the overdue list and summary;
- ``customer_events``: customers' merges and owner changes.
"""
