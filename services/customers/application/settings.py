"""The customer settings of the platform (one row, versioned): the holding caps, the deal triggers
and the platform's return reasons; and the holding caps' checks every path that gives a user a
customer (or a lock) makes.

Until an admin first changes them the settings are the model's defaults (no caps; every deal
trigger) at version 1: ``PATCH`` with ``If-Match: 1`` writes the row (version 2 after the change).
Who may read and change them: admins (``domain.permissions``).
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm_kit.context import Principal
from crm_kit.records.schemas import load
from crm_kit.records.versioning import check_version
from crm_kit.runtime.uow import UnitOfWork, stale_version
from services.customers.domain import holding_caps, permissions
from services.customers.models import Customer, CustomerSettings
from services.customers.models.settings import SETTINGS_ID
from services.customers.schemas.settings import CustomerSettingsOut, CustomerSettingsUpdate

_out = CustomerSettingsOut()
_update = CustomerSettingsUpdate()


def _default(column: str):
    """A setting's default, as the model declares it."""
    return CustomerSettings.__table__.c[column].default.arg(None)


def settings_row(session, lock: bool = False) -> CustomerSettings | None:
    """The settings row (None until first changed); ``lock``: locked for the transaction."""
    stmt = select(CustomerSettings).where(CustomerSettings.id == SETTINGS_ID)
    if lock:     # (populate_existing: the row read before the lock may have changed since)
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalars(stmt).first()


def deal_triggers(session) -> list[str]:
    """What makes a customer a deal customer now (the merge work's deal status reads it)."""
    row = settings_row(session)
    return list(row.deal_triggers) if row is not None else _default("deal_triggers")


def return_reasons(session, pool) -> list[str]:
    """The reasons a return to ``pool`` must give one of: the pool's own list, else the platform's
    (empty: any reason)."""
    if pool.return_reasons:
        return list(pool.return_reasons)
    row = settings_row(session)
    return list(row.return_reasons) if row is not None else _default("return_reasons")


def _dump(row: CustomerSettings | None) -> dict:
    if row is None:
        return {"holding_caps": _default("holding_caps"), "deal_triggers": _default("deal_triggers"),
                "return_reasons": _default("return_reasons"), "updated_by": None, "version": 1, "updated_at": None}
    return _out.dump(row)


def get_customer_settings(uow: UnitOfWork, principal: Principal) -> dict:
    permissions.ensure_may_manage_settings(principal)
    with uow:
        return _dump(settings_row(uow.session))


def update_customer_settings(uow: UnitOfWork, principal: Principal, data: dict, expected_version=None) -> dict:
    """Admins change the settings; the fields given replace theirs (the whole list of caps)."""
    permissions.ensure_may_manage_settings(principal)
    fields = load(_update, data)
    with uow:
        session = uow.session
        uow.audit_action("settings_update")       # (the row's first write too: one action for the change)
        row = settings_row(session, lock=True)
        created = row is None
        if created:
            check_version(_Defaults, expected_version, "customer settings")
            row = CustomerSettings(id=SETTINGS_ID, holding_caps=_default("holding_caps"),
                                   deal_triggers=_default("deal_triggers"), return_reasons=_default("return_reasons"),
                                   updated_by=principal.user_id)
            session.add(row)
            try:
                session.flush()
            except IntegrityError:      # another admin's first change, at the same moment
                raise stale_version() from None
        else:
            check_version(row, expected_version, "customer settings")
        if "holding_caps" in fields:
            fields["holding_caps"] = [holding_caps.normalize_cap(c) for c in fields["holding_caps"]]
        for name in ("deal_triggers", "return_reasons"):
            if name in fields:
                fields[name] = list(dict.fromkeys(fields[name]))
        changed = {name: value for name, value in fields.items() if getattr(row, name) != value}
        if not changed and not created:
            return _dump(row)
        for name, value in changed.items():
            setattr(row, name, value)
        row.updated_by = principal.user_id
        return uow.commit(lambda: _dump(row))


class _Defaults:
    """The settings before their row exists: version 1."""
    version = 1


# -- the caps' checks --------------------------------------------------------------------------------
def cap_for(session, department_id: str | None, role: str | None, lock: bool = False):
    """The holding cap of a user of ``department_id`` / ``role`` (None: not known), or None.
    ``lock``: the settings row is locked for the transaction, so that two owner changes checking
    caps at once take turns (each counts what the other gave)."""
    row = settings_row(session, lock=lock)
    return holding_caps.cap_for(row.holding_caps if row is not None else [], department_id, role)


def held(session, user_id: str, count_deals: bool = True) -> int:
    """The customers ``user_id`` owns (without deal customers unless ``count_deals``)."""
    stmt = select(func.count()).select_from(Customer).where(Customer.owner_id == user_id)
    if not count_deals:
        stmt = stmt.where(Customer.deal_status != "deal")
    return session.execute(stmt).scalar_one()


def locked(session, user_id: str) -> int:
    return session.execute(select(func.count()).select_from(Customer).where(
        Customer.owner_id == user_id, Customer.locked.is_(True))).scalar_one()


def _applying(session, department_id, role, limit: str):
    """The cap that applies with ``limit`` set, read again with the settings row locked (so that two
    owner changes checking it at once take turns, each counting what the other gave); None when
    no such cap applies (nothing locked: owner changes without caps never wait for each other)."""
    cap = cap_for(session, department_id, role)
    if cap is None or getattr(cap, limit) is None:
        return None
    cap = cap_for(session, department_id, role, lock=True)
    return cap if cap is not None and getattr(cap, limit) is not None else None


def ensure_within_holding_cap(session, user_id: str, department_id: str | None, role: str | None = None) -> None:
    """``LimitExceeded`` (``holding_cap``) if ``user_id`` may not own one customer more. ``role``:
    None where it is not known (the user is not the caller): their department's cap or the default."""
    cap = _applying(session, department_id, role, "max_held")
    if cap is not None:
        holding_caps.check_holding_cap(cap, held(session, user_id, cap.count_deals), user_id)


def ensure_within_locked_cap(session, user_id: str, department_id: str | None, role: str | None = None) -> None:
    """``LimitExceeded`` (``locked_cap``) if ``user_id`` may not lock one customer more."""
    cap = _applying(session, department_id, role, "max_locked")
    if cap is not None:
        holding_caps.check_locked_cap(cap, locked(session, user_id), user_id)
