"""Billing's rules, a module per subject: pure functions and state machines, no I/O, the time
passed in (``as_of``).

- ``receivables``: the receivable's statuses and the actions each allows;
- ``plans``: a payment plan's instalments (numbered, adding up to the receivable) and their statuses;
- ``payments``: the payment's review state machine, its methods, the overpayment refusal;
- ``ledger``: ``Book``, one receivable with its plan and payments: every figure (paid, pending,
  outstanding, each instalment's share) is derived from the payments, never kept by hand;
- ``overdue``: the overdue and the instalment-reminder rules of the timers;
- ``review``: who reviews (the ``finance`` role in its scope, admins);
- ``numbering``: payment and refund numbers (``PAY-2026-000123``).
"""
