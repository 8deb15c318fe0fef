"""Invoices (发票): what may be invoiced, the tax in an amount, and the invoice's state machine.

An invoice is requested against an order's receivable, or against one confirmed payment of it.
Its ``amount`` is gross (tax included), as on a Chinese VAT invoice (价税合计).

The rules
---------
- **Never more than the order allows.** What the invoices of one order ask for together
  (``requested``, ``approved`` and ``issued`` ones; ``rejected`` and ``voided`` ones free their
  amount) never exceeds the order's total (its receivable's amount); one requested against a
  payment never exceeds that payment's amount less what is already invoiced against it. The
  refusal is ``LimitExceeded`` (409, ``limit`` ``invoiceable_amount``, ``max`` the amount still
  invoiceable, ``current`` the amount asked), its message stating the amount still invoiceable.
- **Tax** is derived, never sent: ``tax = amount × rate / (100 + rate)`` rounded once to the cent,
  half up (``ROUND_HALF_UP``: 0.005 goes up); ``net = amount − tax``, so tax + net is the amount to
  the cent. The rate is one of ``TAX_RATES`` (China's VAT and levy rates, in %).
- **Kinds:** ``general_vat`` (增值税普通发票), ``special_vat`` (增值税专用发票: the buyer's tax id,
  address and bank are required, so that the buyer can deduct it) and ``electronic``
  (电子发票). A title is always required; a tax id for ``special_vat``, and for the others when the
  buyer is a company (``buyer_kind == "company"``).
- **States:** ``requested`` → ``approved`` → ``issued`` (a number and an issue date) by finance's
  review; ``requested`` → ``rejected`` (a reason); ``issued`` → ``voided`` (红冲: a reason; the amount
  may be invoiced again). An issued invoice is never edited.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from crm_kit.errors import InvalidState, LimitExceeded, ValidationFailed

REQUESTED, APPROVED, ISSUED, REJECTED, VOIDED = "requested", "approved", "issued", "rejected", "voided"
STATUSES = (REQUESTED, APPROVED, ISSUED, REJECTED, VOIDED)
HOLDING = (REQUESTED, APPROVED, ISSUED)              # the statuses whose amount counts against the order
KINDS = ("general_vat", "special_vat", "electronic")
TAX_RATES = tuple(Decimal(r) for r in ("0", "1", "3", "5", "6", "9", "13"))
BUYER_KINDS = ("company", "person")
CENT = Decimal("0.01")
HUNDRED = Decimal(100)

ALLOWED: dict[str, tuple[str, ...]] = {
    "approve": (REQUESTED,),
    "reject": (REQUESTED,),
    "issue": (APPROVED,),
    "void": (ISSUED,),
}
NEXT = {"approve": APPROVED, "reject": REJECTED, "issue": ISSUED, "void": VOIDED}


def transition(action: str, status: str) -> str:
    """The status after ``action``; ``InvalidState`` (409 naming the current state) otherwise."""
    if status not in ALLOWED[action]:
        raise InvalidState.for_action("invoice", action, status)
    return NEXT[action]


def allowed_actions(status: str) -> list[str]:
    return [action for action, states in ALLOWED.items() if status in states]


def tax_of(amount: Decimal, rate_percent: Decimal) -> tuple[Decimal, Decimal]:
    """(tax, net) of a gross ``amount`` at ``rate_percent``: the tax rounded once, half up."""
    amount, rate = Decimal(amount), Decimal(rate_percent)
    tax = (amount * rate / (HUNDRED + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    return tax, amount - tax


def invoiced(invoices: Iterable[dict], payment_id: str | None = None) -> Decimal:
    """What the holding invoices ask for (of one payment when ``payment_id`` is given)."""
    return sum((Decimal(inv["amount"]) for inv in invoices
                if inv["status"] in HOLDING and (payment_id is None or inv.get("payment_id") == payment_id)),
               Decimal("0.00"))


def available(order_total: Decimal, invoices: Iterable[dict], payment: dict | None = None) -> Decimal:
    """What may still be invoiced: of the order, and within the payment when one is named."""
    invoices = list(invoices)
    left = Decimal(order_total) - invoiced(invoices)
    if payment is not None:
        left = min(left, Decimal(payment["amount"]) - invoiced(invoices, payment["id"]))
    return max(left, Decimal("0.00"))


def check_request(fields: dict, order_total: Decimal, invoices: Iterable[dict], payment: dict | None = None,
                  currency: str = "") -> dict:
    """The request's fields checked (the rules above); returns them with ``tax_amount`` and
    ``net_amount``. ``ValidationFailed`` names each field at fault; an amount beyond what is
    available is ``LimitExceeded`` stating what is (``check_within``)."""
    errors: dict[str, list[str]] = {}
    amount = Decimal(fields["amount"])
    rate = Decimal(fields["tax_rate"])
    kind = fields["kind"]
    if amount <= 0:
        errors["amount"] = ["Must be greater than 0."]
    if rate not in TAX_RATES:
        errors["tax_rate"] = [f"Must be one of {', '.join(str(r) for r in TAX_RATES)} (%)."]
    if kind not in KINDS:
        errors["kind"] = [f"Must be one of: {', '.join(KINDS)}."]
    if not (fields.get("title") or "").strip():
        errors["title"] = ["Missing data for required field."]
    needs_tax_id = kind == "special_vat" or fields.get("buyer_kind") == "company"
    if needs_tax_id and not (fields.get("tax_id") or "").strip():
        errors["tax_id"] = ["Required for a special VAT invoice and for a company buyer."]
    if kind == "special_vat":
        for name in ("buyer_address", "buyer_bank_account"):
            if not (fields.get(name) or "").strip():
                errors[name] = ["Required for a special VAT invoice."]
    if errors:
        raise ValidationFailed.from_messages(errors)
    check_within(amount, order_total, invoices, payment, currency)
    tax, net = tax_of(amount, rate)
    return {**fields, "amount": amount, "tax_rate": rate, "tax_amount": tax, "net_amount": net}


def check_within(amount: Decimal, order_total: Decimal, invoices: Iterable[dict], payment: dict | None = None,
                 currency: str = "") -> None:
    """``LimitExceeded`` when ``amount`` is above what may still be invoiced, e.g. ``The invoice of
    600.00 CNY is above what the order still allows: 400.00 CNY may be invoiced (600.00 CNY of its
    1000.00 CNY already requested or issued).``"""
    invoices = list(invoices)
    left = available(order_total, invoices, payment)
    if amount <= left:
        return
    unit = f" {currency}" if currency else ""
    if payment is not None:
        held = invoiced(invoices, payment["id"])
        whole, what = Decimal(payment["amount"]), "the payment"
    else:
        held, whole, what = invoiced(invoices), Decimal(order_total), "the order"
    raise LimitExceeded(
        f"The invoice of {amount}{unit} is above what {what} still allows: {left}{unit} may be invoiced "
        f"({held}{unit} of its {whole}{unit} already requested or issued).",
        {"limit": "invoiceable_amount", "max": str(left), "current": str(amount)})
