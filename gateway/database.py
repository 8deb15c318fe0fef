"""The gateway's own database: the declarative base every table of it is declared on (the
idempotency records in ``gateway.models``, identity's users and departments in
``gateway.identity.models``); ``gateway.models`` gathers them all for migrations."""
from crm_kit.records.db import make_base

Base = make_base()
