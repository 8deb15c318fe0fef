# ruff: noqa: I001  (re-exports grouped by subject, each group in its own order)
"""Customers use cases, a module per subject (plain Python over a unit of work; ``service.py`` calls
them, tests drive them directly). Each takes the unit of work and the caller, and returns plain data.

- ``customer_record``: The customer record: create, read, update, delete (duplicate checks on the normalised name).
- ``queries``: Lists of customers and contacts in the data scope: preset views, filters, radius, sorted keyset pages.
- ``contacts``: Contacts: visible and writable exactly when their customer is.
- ``record_extras``: The kit's team and history use cases on customers and contacts.
- ``conversion``: A converted lead becomes a customer and its primary contact (``lead_converted``).
- ``follow_ups``: A customer's follow-ups (they restart the recycle clock, set the next contact time).
- ``reminders``: The caller's reminders: next contact times, recycle warnings, birthdays.
- ``recycling``: The pools' recycle rules, in short batches, now for one pool or on the periodic job.
- ``merge``: Merging a duplicate into the customer that stays, with nothing lost (``merged``: where a merged id went).
- ``overview``: The customer's own part of its overview (the gateway adds the other services' parts).
- ``business``: Deal status and the summary, kept from other contexts' facts (``apply_business_fact``).
- ``pools``: Public pools (公海), their admins, members and rules; the customers of a pool (masked for members).
- ``pool_actions``: Claim, assign, return (with a reason, to a pool chosen among those it may go to), move.
- ``owner_actions``: Lock, unlock, transfer (the old owner may stay a team member), the owner history.
- ``ownership``: The one way a customer changes hands, losing nothing (history, ``customer_owner_changed``).
- ``bulk``: Bulk claim, assign, return, transfer: one transaction and one result per customer.
- ``settings``: The customer settings (holding caps, deal triggers) and the caps' checks.
- ``access``: Who sees and changes a customer (the scopes plus the pools' way in), and masking.
- ``imports``: The CSV import of customers with their contacts (``import_chunks`` how its rows are
  written, ``import_rows`` how they are checked, ``import_storage`` its bulk writes); ``export`` the
  streamed CSV export; ``jobs`` both as jobs with progress, in batches (``crm_kit.runtime.work_jobs``).
"""
from services.customers.application.contacts import (  # noqa: F401
    create_contact,
    delete_contact,
    get_contact,
    list_contacts_of,
    update_contact,
)
from services.customers.application.conversion import on_lead_converted  # noqa: F401
from services.customers.application.customer_record import (  # noqa: F401
    create_customer,
    delete_customer,
    get_customer,
    update_customer,
)
from services.customers.application.queries import list_contacts, list_customers  # noqa: F401
from services.customers.application.record_extras import (  # noqa: F401
    contact_history,
    customer_history,
    list_customer_team,
    remove_customer_team_member,
    set_customer_team_member,
)
# the follow-ups work: follow-ups, reminders, the recycle rules run now or on the job
from services.customers.application import recycling  # noqa: F401,E402
from services.customers.application.follow_ups import (  # noqa: F401,E402
    add_customer_follow_up,
    get_customer_follow_up,
    list_customer_follow_ups,
)
from services.customers.application.recycling import recycle_all_pools, recycle_customer_pool  # noqa: F401,E402
from services.customers.application.reminders import customer_reminders  # noqa: F401,E402
# the merge work: merge, the overview, the deal status and summary from other contexts' facts
from services.customers.application.business import apply_business_fact  # noqa: F401,E402
from services.customers.application.merge import merge_customers  # noqa: F401,E402
from services.customers.application.overview import customer_overview  # noqa: F401,E402
# the pools work: pools, claim / assign / return / move, lock / transfer, owner history, bulk actions, settings
from services.customers.application.bulk import (  # noqa: F401,E402
    bulk_assign_customers,
    bulk_claim_customers,
    bulk_return_customers,
    bulk_transfer_customers,
)
from services.customers.application.owner_actions import (  # noqa: F401,E402
    list_customer_owners,
    lock_customer,
    transfer_customer,
    unlock_customer,
)
from services.customers.application.pool_actions import (  # noqa: F401,E402
    assign_customer,
    claim_customer,
    customer_return_options,
    move_customer,
    return_customer,
)
from services.customers.application.pools import (  # noqa: F401,E402
    create_customer_pool,
    get_customer_pool,
    list_customer_pool_customers,
    list_customer_pools,
    update_customer_pool,
)
from services.customers.application.settings import get_customer_settings, update_customer_settings  # noqa: F401,E402
# the import and export work: the CSV import with its contacts (a mapping, other CRMs' columns), the export
from services.customers.application.export import EXPORT_PAGE_SIZE, export_customers_page  # noqa: F401,E402
from services.customers.application.imports import import_customers  # noqa: F401,E402
