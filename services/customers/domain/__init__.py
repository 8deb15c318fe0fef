# ruff: noqa: I001  (imports grouped by subject)
"""The customers rules in plain Python (no I/O), a module per subject: ``records`` (kinds, levels,
profile completeness, a customer from a lead, what may be deleted), and, as they are built, the
public pools' claim limits, holding caps, masking, recycle rules, reminders, merge and deal status.
Table-driven tests in ``tests/unit/customers/domain/`` cover each rule without a database."""
from services.customers.domain.records import *  # noqa: F401,F403
# the pools work: claim limits, holding caps, who may do what, pools and their recycle rules' shape, masking
from services.customers.domain import claim_limits, holding_caps, masking, permissions, pools  # noqa: F401,E402
# the follow-ups work: follow-up kinds, the recycle rules' decisions, reminders (birthdays)
from services.customers.domain import follow_ups, recycling, reminders  # noqa: F401,E402
# the merge work: merging a duplicate, the deal status and the summary kept from other contexts' facts
from services.customers.domain import deal, merge  # noqa: F401,E402
