"""Leads use cases: each takes a unit of work (and, for an RPC, the caller's principal) and returns
plain data. No nameko here: ``service.py`` is a thin adapter over these functions, and tests call
them directly with a unit of work on SQLite. One module per subject:

- ``lead_record``    the lead itself: create, get, list, update, delete; its team and history
- ``conversion``     converting a lead, and what customers tells back (the customer and contact it
                     became; their deletion); ``customers_merged`` a merged customer's leads repointed
- ``pool_actions``   assign, claim (within the pool's claim limits), return, invalidate, discard, restore
- ``follow_ups``     follow-ups, and the owner's reminders
- ``pools``          lead pools: create, get, list, update
- ``recycling``      a pool taking back the leads nobody followed up (one pool, or every pool)
- ``imports``        the CSV import: the file and its report; ``import_chunks`` how its rows are
                     written (their validation in bulk: ``crm_kit.records.text_rows``; the
                     overlap of preparation and writing: ``crm_kit.runtime.pipeline``)
- ``export``         the CSV export, a page at a time
- ``jobs``           the import of any size and the export as jobs with progress, in batches
                     (``crm_kit.runtime.work_jobs``)

and what they share: ``access`` (who sees and changes a lead or a pool: the data scopes plus the
pools'), ``queries`` (the list filters in SQL), ``distribution`` (a new pool lead's owner),
``ownership`` (recording a change of owner), ``storage`` (bulk writes and PostgreSQL's paths: the
one place that knows the database below the ORM). The rules themselves are in ``services.leads.domain``.

Every use case is importable from here (``application.create_lead``).
"""
from __future__ import annotations

from services.leads.application.conversion import (  # noqa: F401
    convert_lead,
    record_contact_deleted,
    record_conversion,
    record_customer_deleted,
)
from services.leads.application.customers_merged import record_customers_merged  # noqa: F401
from services.leads.application.export import EXPORT_COLUMNS, EXPORT_PAGE_SIZE, export_leads_page  # noqa: F401
from services.leads.application.follow_ups import (  # noqa: F401
    add_lead_follow_up,
    get_lead_follow_up,
    lead_reminders,
    list_lead_follow_ups,
)
from services.leads.application.imports import IMPORT_COLUMNS, MAX_IMPORT_ROWS, import_leads  # noqa: F401
from services.leads.application.jobs import (  # noqa: F401
    check_export,
    check_import,
    export_leads_job,
    import_leads_job,
)
from services.leads.application.lead_record import (  # noqa: F401
    create_lead,
    delete_lead,
    get_lead,
    lead_history,
    list_lead_team,
    list_leads,
    remove_lead_team_member,
    set_lead_team_member,
    update_lead,
)
from services.leads.application.pool_actions import (  # noqa: F401
    assign_lead,
    claim_lead,
    discard_lead,
    invalidate_lead,
    restore_lead,
    return_lead,
)
from services.leads.application.pools import create_lead_pool, get_lead_pool, list_lead_pools, update_lead_pool  # noqa: F401
from services.leads.application.recycling import recycle_all_pools, recycle_pool  # noqa: F401
