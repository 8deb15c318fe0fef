"""What the customers RPC API accepts and returns.

Inputs derive from ``InputSchema``: unknown fields are refused, and fields the
server owns are refused with 422 "set by the server" (``id``, ``owner_id``,
``department_id``, ``status``, ``version``, ``created_at``, ``updated_at`` and
``CUSTOMER_SERVER_OWNED`` / ``CONTACT_SERVER_OWNED`` below). Updates are partial.

The RPC API's schemas are collected from this module (``crm_kit.records.schemas.api_schemas``: each
under its name without a trailing ``Out``); a name starting with ``_`` would be internal. Pages of a
list are ``page_of(<Item>Out)``.

By subject: ``records`` (customers), ``contacts``, ``lists``, ``history``; and, as they are built,
``pools``, ``ownership``, ``follow_ups``, ``reminders``, ``merge``, ``overview``, ``imports``,
``settings``. ``service.py`` collects every module's schemas for the API (``modules()``).
"""
from services.customers.schemas.contacts import *  # noqa: F401,F403
from services.customers.schemas.history import *  # noqa: F401,F403
from services.customers.schemas.lists import *  # noqa: F401,F403
from services.customers.schemas.records import *  # noqa: F401,F403


def modules() -> list:
    """Every module of this package (``service.py`` collects the API's schemas from them): a new
    subject's module is found by itself."""
    import importlib
    import pkgutil
    return [importlib.import_module(f"{__name__}.{info.name}")
            for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)]  # noqa: F405
