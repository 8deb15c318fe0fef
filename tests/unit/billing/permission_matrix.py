"""The billing records in the permission matrix (``tests/unit/test_permissions.py``): a receivable
opened for the matrix's ``owner`` (department d1a) by an approved order, a payment recorded on it,
an invoice requested against it, their operations -- and the ``finance`` role
(``services/billing/domain/review.py``): finance sees and changes billing's records of its
departments like their owner, and alone (with admins) reviews them (kind ``review``); outside
billing it is a member who owns nothing."""
from __future__ import annotations

import datetime as dt

from crm_kit.context import Principal
from crm_kit.errors import NotFound
from services.billing.application import invoices, payments, plans, receivables, refunds
from services.billing.events.consumed_orders import OrderApproved
from services.billing.models import Base as BillingBase
from tests.unit.conftest import ADMIN

# records without a team: the team roles see them as an unrelated member does
BILLING_WITHOUT_TEAM = {"receivable", "payment", "invoice"}
BILLING_NOT_LISTED = {"billingcustomerref": "which customer id a merged one became: never listed",
                      "billingorderref": "the newest owner heard of per order: never listed"}

FINANCE_ROLES = {
    "finance_of_owner_department": Principal("fin-d1", "finance", "d1", ("d1", "d1a")),
    "finance_of_other_department": Principal("fin-d2", "finance", "d2", ("d2",)),
}
# role -> outcome per kind (read, write, manage, admin_only, review): outside billing, and in billing
FINANCE_EXPECTED = {"finance_of_owner_department": ("404",) * 5, "finance_of_other_department": ("404",) * 5}
BILLING_EXPECTED = {"finance_of_owner_department": ("ok", "ok", "403", "403", "ok")}


class BillingWorld:
    """Mixed into the matrix's ``World`` (which gives ``make_db`` and ``OWNER``)."""

    OWNER = None

    def billing_db(self):
        if not hasattr(self, "_billing"):
            self._billing = self.make_db(BillingBase, "billing")
        return self._billing

    def receivable(self) -> str:
        db = self.billing_db()
        order_id = f"order-{len(db.all(receivables.Receivable))}"
        envelope = {"event_id": f"evt-{order_id}", "actor": None, "payload": {
            "id": order_id, "number": "SO-2026-000001", "customer_id": "cust-1", "owner_id": self.OWNER.user_id,
            "department_id": self.OWNER.department_id, "total": "1000.00", "currency": "CNY",
            "approved_at": "2026-03-02T09:00:00+00:00", "occurred_at": "2026-03-02T09:00:00+00:00",
            "due_date": "2026-04-01"}}
        return db.handle(receivables.open_receivable, envelope, OrderApproved)

    def payment(self) -> str:
        return _submit(self, ADMIN, self.receivable())

    def invoice(self) -> str:
        return _request_invoice(self, ADMIN, self.receivable())["id"]


def _submit(w, principal, receivable_id) -> str:
    paid_at = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()
    return payments.submit_payment(w.billing_db().uow(), principal, {
        "receivable_id": receivable_id, "amount": "10.00", "paid_at": paid_at, "method": "cash",
        "reviewer_id": "fin-d1"})["id"]


def _request_invoice(w, principal, receivable_id) -> dict:
    return invoices.request_invoice(w.billing_db().uow(), principal, {
        "receivable_id": receivable_id, "kind": "electronic", "title": "Initech", "tax_id": "91310000MA1K000000",
        "amount": "10.00", "tax_rate": "13"})


def _advanced(w, i, *actions) -> str:
    """The invoice taken by an admin through ``actions`` (so that the action tried next is allowed;
    an unknown id is left for the action to refuse)."""
    try:
        status = invoices.get_invoice(_uow(w), ADMIN, i)["status"]
    except NotFound:
        return i
    if status == "requested":
        for action in actions:
            getattr(invoices, f"{action}_invoice")(_uow(w), ADMIN, i)
    return i


def _uow(w):
    return w.billing_db().uow()


def _listed(result, ident):
    from tests.unit.test_permissions import listed
    return listed(result, ident)


def _refund(w, p, i):
    if payments.get_payment(_uow(w), ADMIN, i)["status"] == "pending_review":
        payments.confirm_payment(_uow(w), ADMIN, i)
    return refunds.refund_payment(_uow(w), p, i, "paid twice")


BILLING_OPERATIONS = {
    "receivable": {
        "get": ("read", lambda w, p, i: receivables.get_receivable(_uow(w), p, i)),
        "list": ("read", lambda w, p, i: _listed(receivables.list_receivables(_uow(w), p, {}), i)),
        "history": ("read", lambda w, p, i: receivables.receivable_history(_uow(w), p, i, {})),
        "plan_get": ("read", lambda w, p, i: plans.get_receivable_plan(_uow(w), p, i)),
        "plan_set": ("write", lambda w, p, i: plans.set_receivable_plan(_uow(w), p, i, {"instalments": [
            {"amount": "1000.00", "due_date": "2026-05-01"}]})),
        "submit_payment": ("write", lambda w, p, i: _submit(w, p, i)),
        "write_off": ("review", lambda w, p, i: receivables.write_off_receivable(_uow(w), p, i, "bankrupt")),
        "request_invoice": ("write", lambda w, p, i: _request_invoice(w, p, i)),
    },
    "payment": {
        "get": ("read", lambda w, p, i: payments.get_payment(_uow(w), p, i)),
        "list": ("read", lambda w, p, i: _listed(payments.list_payments(_uow(w), p, {}), i)),
        "history": ("read", lambda w, p, i: payments.payment_history(_uow(w), p, i, {})),
        "confirm": ("review", lambda w, p, i: payments.confirm_payment(_uow(w), p, i)),
        "reject": ("review", lambda w, p, i: payments.reject_payment(_uow(w), p, i, "not received")),
        "refund": ("review", _refund),
    },
    "invoice": {
        "get": ("read", lambda w, p, i: invoices.get_invoice(_uow(w), p, i)),
        "list": ("read", lambda w, p, i: _listed(invoices.list_invoices(_uow(w), p, {}), i)),
        "history": ("read", lambda w, p, i: invoices.invoice_history(_uow(w), p, i, {})),
        "approve": ("review", lambda w, p, i: invoices.approve_invoice(_uow(w), p, i)),
        "reject": ("review", lambda w, p, i: invoices.reject_invoice(_uow(w), p, i, "wrong title")),
        "issue": ("review", lambda w, p, i: invoices.issue_invoice(_uow(w), p, _advanced(w, i, "approve"))),
        "void": ("review", lambda w, p, i: invoices.void_invoice(_uow(w), p, _advanced(w, i, "approve", "issue"),
                                                                 "typo")),
    },
}
