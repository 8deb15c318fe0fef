"""Rules more than one context's domain applies the same way (plain functions over plain values,
no I/O, no clock read): each context's ``domain/`` names its own facts and asks these.

- ``pool_claims``: a public pool's claim limits (leads' pools and customers' 公海 alike).
"""
