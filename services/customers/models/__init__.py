"""Customers' tables (its own database), by subject; ``Base`` carries them all (and the kit's).

- ``records``: customers, their tags and contacts, and the customer team;
- ``pools``: the public pools (公海), their members and admins, their rules;
- ``ownership``: who owned a customer from when until when, and why (claims per day, the reclaim
  cooldown and the owner history are read here);
- ``follow_ups``: follow-up activities;
- ``merges``: which duplicate was merged into which customer;
- ``business``: the opportunities, orders, contracts and payments other contexts told about (the
  summary and the deal status are kept from them);
- ``settings``: the platform-wide customer settings (holding caps, deal triggers).
"""
from services.customers.models.base import Base, partial_index
from services.customers.models.business import CustomerBusiness
from services.customers.models.follow_ups import CustomerFollowUp
from services.customers.models.merges import CustomerMerge
from services.customers.models.ownership import CustomerOwnership
from services.customers.models.pools import CustomerPool, CustomerPoolUser
from services.customers.models.records import Contact, Customer, CustomerTag, customer_team
from services.customers.models.settings import CustomerSettings

__all__ = ["Base", "partial_index", "Customer", "CustomerTag", "Contact", "customer_team", "CustomerPool",
           "CustomerPoolUser", "CustomerOwnership", "CustomerFollowUp", "CustomerMerge", "CustomerBusiness",
           "CustomerSettings"]
