"""Support's use cases, a module per subject: ``tickets`` (create, read, list, update),
``actions`` (the status machine's actions, assignment, arrival), ``comments``, ``routing`` (who gets
a ticket), ``clocks`` (a ticket's SLA clocks), ``sla_run`` (the SLA timer), ``groups`` (groups,
agents, calendars, SLA policies), ``customer_events``, ``overview``, ``access`` (the data scopes
with group membership), ``numbers``."""
