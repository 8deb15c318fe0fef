"""Support's rules, without I/O: the ticket's status machine (``tickets``), business calendars
(``calendar``), SLA clocks (``sla``), routing by skill and load (``routing``) and the signed
one-time links customers answer through (``links``)."""
