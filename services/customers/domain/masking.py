"""Hidden fields (公海隐藏字段): what a pool's admin hides of its customers from the pool's members
until one of them claims the customer.

A pool's ``hidden_fields`` names some of :data:`HIDEABLE` (each hides a group of the customer's
fields and of its contacts' fields):

| hidden field | the customer's | its contacts' |
|---|---|---|
| ``phone`` | ``mobile``, ``telephone`` | ``phone`` |
| ``mobile`` / ``telephone`` | that one | -- |
| ``email`` | ``email`` | ``email`` |
| ``address`` | ``address``, ``latitude``, ``longitude`` (a location gives the address away) | -- |
| ``website`` | ``website`` | -- |
| ``notes`` | ``notes`` | ``notes`` |
| ``birthday`` | ``birthday`` | ``birthday`` |

**Who sees them masked**: anyone who sees a customer while it sits in a pool, except the
platform's admins and the pool's own admins (members browsing the pool, and a former team member
who still sees it). Once claimed (or assigned) the customer has no pool: nothing is masked.

A masked value is ``null``, and the answer says which keys were masked (``masked_fields``, sorted:
``"mobile"``, ``"contacts.phone"``...), so that ``null`` never reads as "not known".
"""
from __future__ import annotations

HIDEABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "phone": (("mobile", "telephone"), ("phone",)),
    "mobile": (("mobile",), ()),
    "telephone": (("telephone",), ()),
    "email": (("email",), ("email",)),
    "address": (("address", "latitude", "longitude"), ()),
    "website": (("website",), ()),
    "notes": (("notes",), ("notes",)),
    "birthday": (("birthday",), ("birthday",)),
}
MASKED_KEY = "masked_fields"


def masked_for(*, in_pool: bool, platform_admin: bool, pool_admin: bool) -> bool:
    """Whether the caller sees the customer with its pool's hidden fields masked."""
    return in_pool and not platform_admin and not pool_admin


def hidden_keys(hidden_fields) -> tuple[set[str], set[str]]:
    """The customer's and the contacts' keys that ``hidden_fields`` hides (unknown names: none)."""
    own, of_contacts = set(), set()
    for name in hidden_fields or ():
        mine, theirs = HIDEABLE.get(name, ((), ()))
        own.update(mine)
        of_contacts.update(theirs)
    return own, of_contacts


def mask_contact(contact: dict, keys: set[str]) -> tuple[dict, list[str]]:
    """A dumped contact with ``keys`` masked, and the keys masked (present in it)."""
    hit = sorted(k for k in keys if k in contact)
    if not hit:
        return contact, []
    return {**contact, **dict.fromkeys(hit)}, hit


def mask_customer(customer: dict, hidden_fields) -> dict:
    """A dumped customer (with its ``contacts`` when dumped with them) with ``hidden_fields`` masked,
    and ``masked_fields`` naming what was (``contacts.<key>`` for the contacts'); unchanged when
    nothing is hidden."""
    own, of_contacts = hidden_keys(hidden_fields)
    if not own and not of_contacts:
        return customer
    hit = sorted(k for k in own if k in customer)
    out = {**customer, **dict.fromkeys(hit)}
    contact_hits: set[str] = set()
    if isinstance(customer.get("contacts"), list):
        masked_contacts = []
        for contact in customer["contacts"]:
            masked, keys = mask_contact(contact, of_contacts)
            masked_contacts.append(masked)
            contact_hits.update(keys)
        out["contacts"] = masked_contacts
    out[MASKED_KEY] = hit + sorted(f"contacts.{k}" for k in contact_hits)
    return out
