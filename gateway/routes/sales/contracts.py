"""The sales service's routes for contracts (合同): records, the approval actions, signing, voiding,
renewing, and the contract's history."""
from __future__ import annotations

from gateway.routes.model import Route, body, crud, field, query

C = "/api/v1/contracts/<contract_id>"


def _action(action: str, rpc: str, summary: str, args=(), request=None, description=None) -> Route:
    return Route("POST", f"{C}/{action}", "sales", rpc, summary, "sales", args, request=request,
                 response="sales.Contract", description=description)


ROUTES = (
    *crud("sales", "/api/v1/contracts", "contract_id", "sales", "contract", "contracts", "Contract"),
    Route("GET", f"{C}/history", "sales", "contract_history", "Who changed this contract, when, and what "
          "(newest first)", "sales", (query(),), response="sales.AuditList", query_schema="sales.ContractHistoryQuery"),
    _action("submit", "submit_contract", "Submit a draft or rejected contract for approval",
            (body(),), "sales.ContractSubmit",
            "`approved` at once when no approval flow applies and no `approver_id` is given; else "
            "`pending_approval` until the approval engine's steps pass."),
    _action("approve", "approve_contract", "Approve the current step of a pending contract (its approvers)",
            (body(),), "sales.ContractDecision"),
    _action("reject", "reject_contract", "Reject a pending contract (its approvers)", (body(),),
            "sales.ContractDecision"),
    _action("withdraw", "withdraw_contract", "Take a pending contract back to draft"),
    _action("sign", "sign_contract", "Record our and/or the customer's signing of an approved contract",
            (body(),), "sales.ContractSign",
            "With both signing dates the contract is `signed` and `contract_signed` is raised."),
    _action("void", "void_contract", "Void a contract (any state but expired), with a reason",
            (field("reason"),), "sales.ContractVoid"),
    Route("POST", f"{C}/renew", "sales", "renew_contract", "A draft renewal of a signed or expired contract",
          "sales", status=201, location="/api/v1/contracts/{id}", response="sales.Contract",
          description="Its terms, from the day after its end for as long, the same owner; 409 `existing_id` "
                      "when it has a renewal already."),
)
