"""Billing's rules, a module per subject: pure functions and state machines, no I/O, the time
passed in (``as_of``).

- ``receivables``: the receivable's statuses and the actions each allows;
- ``plans``: a payment plan's instalments (numbered, adding up to the receivable) and their statuses;
- ``payments``: the payment's review state machine, its methods, the overpayment refusal;
- ``ledger``: ``Book``, one receivable with its plan and payments: every figure (paid, pending,
  outstanding, each instalment's share) is derived from the payments, never kept by hand;
- ``overdue``: the overdue and the instalment-reminder rules of the timers;
- ``review``: who reviews (the ``finance`` role in its scope, admins);
- ``numbering``: payment, refund and invoice numbers (``PAY-2026-000123``, ``INV-2026-000042``);
- ``invoices``: what may still be invoiced, the tax in a gross amount, the invoice's state machine;
- ``dunning``: the dunning ladder and which level a due has earned on a day;
- ``aging``: the aging buckets of what is owed, per currency.
"""
