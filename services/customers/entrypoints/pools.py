"""The entrypoints of public pools (公海): pools and their members and rules, claim, assign, return,
move, lock, transfer (one by one and in bulk), owner history, the holding caps and other
settings."""
from __future__ import annotations

from crm_kit.runtime.entrypoints import rpc
from services.customers import application


class PoolsEntrypoints:
    """(``CustomersService`` derives from it: its methods are the service's entrypoints.)"""

    # -- pools ------------------------------------------------------------------
    @rpc
    def create_customer_pool(self, data, user_departments=None):
        return application.create_customer_pool(self.db, self.principal, data, user_departments)

    @rpc
    def get_customer_pool(self, pool_id):
        return application.get_customer_pool(self.db, self.principal, pool_id)

    @rpc
    def list_customer_pools(self, query=None):
        return application.list_customer_pools(self.db, self.principal, query)

    @rpc
    def update_customer_pool(self, pool_id, data, expected_version=None, user_departments=None):
        return application.update_customer_pool(self.db, self.principal, pool_id, data, expected_version,
                                                user_departments)

    @rpc
    def list_customer_pool_customers(self, pool_id, query=None):
        return application.list_customer_pool_customers(self.db, self.principal, pool_id, query)

    # -- one customer ---------------------------------------------------------------
    @rpc
    def claim_customer(self, customer_id):
        return application.claim_customer(self.db, self.principal, customer_id)

    @rpc
    def assign_customer(self, customer_id, owner_id, owner_department_id=None):
        return application.assign_customer(self.db, self.principal, customer_id, owner_id, owner_department_id)

    @rpc
    def return_customer(self, customer_id, reason, pool_id=None):
        return application.return_customer(self.db, self.principal, customer_id, reason, pool_id)

    @rpc
    def customer_return_options(self, customer_id):
        return application.customer_return_options(self.db, self.principal, customer_id)

    @rpc
    def move_customer(self, customer_id, pool_id):
        return application.move_customer(self.db, self.principal, customer_id, pool_id)

    @rpc
    def lock_customer(self, customer_id):
        return application.lock_customer(self.db, self.principal, customer_id)

    @rpc
    def unlock_customer(self, customer_id):
        return application.unlock_customer(self.db, self.principal, customer_id)

    @rpc
    def transfer_customer(self, customer_id, owner_id, keep_old_owner=None, until=None, reason=None,
                          owner_department_id=None):
        return application.transfer_customer(self.db, self.principal, customer_id, owner_id, keep_old_owner, until,
                                             reason, owner_department_id)

    @rpc
    def list_customer_owners(self, customer_id):
        return application.list_customer_owners(self.db, self.principal, customer_id)

    # -- in bulk ----------------------------------------------------------------------
    @rpc
    def bulk_claim_customers(self, data):
        return application.bulk_claim_customers(self.db, self.principal, data)

    @rpc
    def bulk_assign_customers(self, data, owner_department_id=None):
        return application.bulk_assign_customers(self.db, self.principal, data, owner_department_id)

    @rpc
    def bulk_return_customers(self, data):
        return application.bulk_return_customers(self.db, self.principal, data)

    @rpc
    def bulk_transfer_customers(self, data, owner_department_id=None):
        return application.bulk_transfer_customers(self.db, self.principal, data, owner_department_id)

    # -- settings ------------------------------------------------------------------------
    @rpc
    def get_customer_settings(self):
        return application.get_customer_settings(self.db, self.principal)

    @rpc
    def update_customer_settings(self, data, expected_version=None):
        return application.update_customer_settings(self.db, self.principal, data, expected_version)
