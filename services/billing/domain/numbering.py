"""Document numbers (编号规则): ``<PREFIX>-<year>-<counter, six digits>``, as sales numbers its orders:
payments ``PAY-2026-000123``, refunds ``RF-2026-000007``, invoices ``INV-2026-000042`` (taken when
the invoice is issued, not when it is requested: a rejected request burns no number).

A counter per prefix and year, starting at 1 each year; the application takes the next value inside
the creating transaction (``application.numbers.take_number``: the counter's row is locked until the
commit, so two payments never share a number and a rolled-back one's value is not burnt). A counter
past 999999 keeps counting with more digits.
"""
from __future__ import annotations

PAYMENT_PREFIX = "PAY"
REFUND_PREFIX = "RF"
INVOICE_PREFIX = "INV"
