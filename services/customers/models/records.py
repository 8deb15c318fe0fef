"""Customers, their tags and contacts, and the customer team."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_kit.records.db import Money, UtcDateTime, utcnow
from crm_kit.records.teams import attach_team
from services.customers.models.base import Base, partial_index


class Customer(Base):
    """A customer (客户): a company or a person. Audited as entity ``customer``; scoped by owner,
    department and team. In a public pool it has no owner (``pool_id`` set, ``owner_id`` NULL)."""
    __tablename__ = "customers"
    __audit_entity__ = "customer"
    __audit_exclude__ = ("name_key", "mobile_key", "telephone_key")

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # -- the record ---------------------------------------------------------------------------
    name: Mapped[str] = mapped_column(String(200))
    # normalised: the duplicate key, the prefix filter and the name sort; compared as bytes (code points) on
    # every database: collation "C" on PostgreSQL (what one (name_key, id) index serves all three in), BINARY on SQLite
    name_key: Mapped[str] = mapped_column(String(200).with_variant(String(200, collation="C"), "postgresql"))
    kind: Mapped[str] = mapped_column(String(20), default="company")     # company | individual
    industry: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[str | None] = mapped_column(String(50))
    level: Mapped[str | None] = mapped_column(String(1))                 # A | B | C
    region: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)                # WGS 84 degrees (the map view)
    longitude: Mapped[float | None] = mapped_column(Float)
    mobile: Mapped[str | None] = mapped_column(String(40))
    mobile_key: Mapped[str | None] = mapped_column(String(40))           # normalised: a duplicate key
    telephone: Mapped[str | None] = mapped_column(String(40))
    telephone_key: Mapped[str | None] = mapped_column(String(40))        # normalised: a duplicate key
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(200))
    gender: Mapped[str | None] = mapped_column(String(10))               # individuals: male | female | other
    birthday: Mapped[dt.date | None] = mapped_column(Date)               # individuals
    source: Mapped[str | None] = mapped_column(String(30))               # the lead source list
    notes: Mapped[str | None] = mapped_column(Text)
    follow_stage: Mapped[str | None] = mapped_column(String(50))
    profile_completeness: Mapped[int] = mapped_column(Integer, default=0)   # percent: edited / editable fields
    # -- ownership and pools ------------------------------------------------------------------
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    owner_since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)   # when its owner received it
    previous_owner_id: Mapped[str | None] = mapped_column(String(36))
    claim_count: Mapped[int] = mapped_column(Integer, default=0)            # how many times the owner changed
    pool_id: Mapped[str | None] = mapped_column(String(36))
    pool_since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)    # when it entered its pool
    locked: Mapped[bool] = mapped_column(Boolean, default=False)           # never recycled
    locked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(36))
    # -- follow-ups ---------------------------------------------------------------------------
    last_followed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    next_contact_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # -- business, kept from other contexts' events (models.business) -------------------------
    deal_status: Mapped[str] = mapped_column(String(20), default="prospect")   # prospect | deal
    deal_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)          # when it became a deal customer
    last_deal_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_opportunity_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    open_opportunities: Mapped[int] = mapped_column(Integer, default=0)
    opportunity_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    order_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    paid_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    # -- where it came from -------------------------------------------------------------------
    source_lead_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    source_campaign_id: Mapped[str | None] = mapped_column(String(36))
    created_by: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    contacts: Mapped[list["Contact"]] = relationship(back_populates="customer", order_by="Contact.id")
    __audit_lists__ = {"tags": ("tag_rows", "tag")}   # audited as the customer's field "tags"
    tag_rows: Mapped[list["CustomerTag"]] = relationship(cascade="all, delete-orphan", order_by="CustomerTag.tag",
                                                          lazy="selectin")

    __mapper_args__ = {"version_id_col": version}
    # Every index is written by every insert and by every update that changes an indexed column (all of
    # them do: updated_at is a sort): each one here is read by a list, a lookup or a job (migration 0006
    # says why the others went). A filter without its own index (deal_status: two values) is read
    # along the page's order (the primary key, or the sort's index) and filtered there.
    __table_args__ = (
        Index("ix_customers_owner_id_id", "owner_id", "id"),
        Index("ix_customers_department_id_id", "department_id", "id"),
        partial_index("ix_customers_pool_id_id", ("pool_id", "id"), "pool_id IS NOT NULL"),
        partial_index("ix_customers_mobile_key", ("mobile_key",), "mobile_key IS NOT NULL"),
        partial_index("ix_customers_telephone_key", ("telephone_key",), "telephone_key IS NOT NULL"),
        Index("ix_customers_level_id", "level", "id"),
        Index("ix_customers_industry_id", "industry", "id"),
        Index("ix_customers_region_id", "region", "id"),
        Index("ix_customers_updated_at_id", "updated_at", "id"),
        Index("ix_customers_created_at_id", "created_at", "id"),           # list sorts: (column, id) keysets
        Index("ix_customers_name_key_id", "name_key", "id"),   # also the prefix filter and the duplicate key
        Index("ix_customers_last_followed_at_id", "last_followed_at", "id"),
        partial_index("ix_customers_next_contact_at_id", ("next_contact_at", "id"), "next_contact_at IS NOT NULL"),
        # the map's bounding box; on PostgreSQL covering what the data scope reads (an index-only scan)
        partial_index("ix_customers_latitude_longitude", ("latitude", "longitude"), "latitude IS NOT NULL",
                      postgresql_include=["id", "owner_id", "department_id", "pool_id"]),
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    @tags.setter
    def tags(self, values) -> None:
        """The tags as given (each once, in order); rows of tags kept stay, the others go."""
        wanted = list(dict.fromkeys(values or ()))
        kept = {row.tag: row for row in self.tag_rows if row.tag in wanted}
        self.tag_rows = [kept.get(tag) or CustomerTag(tag=tag) for tag in wanted]

    @property
    def outstanding(self) -> Decimal:
        return self.order_total - self.paid_total


class CustomerTag(Base):
    """One tag of a customer (its own table: "customers tagged X" is an index lookup on every
    database). Not audited itself: the customer's audit entry names its tags."""
    __tablename__ = "customer_tags"
    __audited__ = False

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)

    __table_args__ = (Index("ix_customer_tags_tag_customer_id", "tag", "customer_id"),)


class Contact(Base):
    """Audited as entity ``contact``. A contact is visible and writable exactly when its
    customer is (``__scope_parent__``); its owner/department are copies for reporting."""
    __tablename__ = "contacts"
    __audit_entity__ = "contact"
    __audit_exclude__ = ("phone_key",)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    phone_key: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    birthday: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_id: Mapped[str | None] = mapped_column(String(36))
    department_id: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="contacts")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_contacts_customer_id", "customer_id"),
        Index("ix_contacts_phone_key", "phone_key"),
        Index("ix_contacts_owner_id_id", "owner_id", "id"),
        Index("ix_contacts_department_id_id", "department_id", "id"),
        partial_index("ix_contacts_birthday", ("birthday",), "birthday IS NOT NULL"),
        Index("ix_contacts_created_at_id", "created_at", "id"),             # list sorts: (column, id) keysets
        Index("ix_contacts_updated_at_id", "updated_at", "id"),
        Index("ix_contacts_name_id", "name", "id"),
    )


# Users the customer is shared with (read / read_write); contacts inherit it.
customer_team = attach_team(Customer)
Contact.__scope_parent__ = (Contact.customer_id, Customer)
