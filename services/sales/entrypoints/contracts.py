"""The entrypoints of contracts: records, the approval actions (``org``: the organisation the approval
engine reads), signing, voiding, renewing, and the renewal reminder's periodic job."""
from __future__ import annotations

import os

from crm_kit.config import env_float
from crm_kit.runtime.entrypoints import rpc
from crm_kit.runtime.jobs import periodic
from services.sales.application import contracts

# How often the reminder job runs (seconds), and how many days before its end a contract is reminded.
EXPIRY_INTERVAL = env_float("SALES_CONTRACT_EXPIRY_INTERVAL_SECONDS", 3600.0)
EXPIRING_NOTICE_DAYS = int(os.environ.get("SALES_CONTRACT_EXPIRING_NOTICE_DAYS", "")
                           or contracts.DEFAULT_NOTICE_DAYS)


class ContractsEntrypoints:
    """(``SalesService`` derives from it: its methods are the service's entrypoints.)"""

    @rpc
    def create_contract(self, data):
        return contracts.create_contract(self.db, self.principal, data)

    @rpc
    def get_contract(self, contract_id):
        return contracts.get_contract(self.db, self.principal, contract_id)

    @rpc
    def list_contracts(self, query=None):
        return contracts.list_contracts(self.db, self.principal, query)

    @rpc
    def update_contract(self, contract_id, data, expected_version=None):
        return contracts.update_contract(self.db, self.principal, contract_id, data, expected_version)

    @rpc
    def contract_history(self, contract_id, query=None):
        return contracts.contract_history(self.db, self.principal, contract_id, query)

    @rpc
    def submit_contract(self, contract_id, data=None):
        return contracts.submit_contract(self.db, self.principal, self.org(), contract_id, data)

    @rpc
    def approve_contract(self, contract_id, data=None):
        return contracts.approve_contract(self.db, self.principal, self.org(), contract_id, data)

    @rpc
    def reject_contract(self, contract_id, data=None):
        return contracts.reject_contract(self.db, self.principal, self.org(), contract_id, data)

    @rpc
    def withdraw_contract(self, contract_id):
        return contracts.withdraw_contract(self.db, self.principal, contract_id)

    @rpc
    def sign_contract(self, contract_id, data):
        return contracts.sign_contract(self.db, self.principal, contract_id, data)

    @rpc
    def void_contract(self, contract_id, reason=None):
        return contracts.void_contract(self.db, self.principal, contract_id, reason)

    @rpc
    def renew_contract(self, contract_id):
        return contracts.renew_contract(self.db, self.principal, contract_id)

    @periodic("contracts_expiring", every=EXPIRY_INTERVAL)
    def remind_expiring_contracts_periodically(self, as_of):
        """As of ``as_of``: signed contracts past their end expire, those ending within
        ``SALES_CONTRACT_EXPIRING_NOTICE_DAYS`` raise ``contract_expiring`` once; as the platform, once per
        ``SALES_CONTRACT_EXPIRY_INTERVAL_SECONDS`` across the replicas (``run_job("contracts_expiring",
        as_of, dry_run)`` runs it now)."""
        return contracts.remind_expiring_contracts(self.db, as_of, EXPIRING_NOTICE_DAYS)
