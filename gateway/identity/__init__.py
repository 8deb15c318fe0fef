"""Identity, owned by the gateway: users, departments, sign-in, and who is calling.

On the gateway's own database (``gateway.database.Base``), by subject:

- ``models``: the ``users`` and ``departments`` tables; ``schemas``: what the identity routes accept
  and answer (marshmallow; the route table names them ``gateway.<Name>``).
- ``passwords``: scrypt hashes; ``tokens``: the JWT bearer tokens (and the signing key).
- ``principals``: who a user is for the data scopes (role, department, the subtree in scope), cached
  briefly; ``auth``: signing in (``login``) and the bearer token of a request -> its principal.
- ``users``, ``departments``: their use cases (plain Python over a unit of work), and the user ids
  the gateway checks for the services (``users.departments_of``).
- ``rpc``: the use cases the route table calls as ``gateway.<name>``, by the services' convention:
  ``function(uow, principal, **arguments)``.

This module imports nothing (``gateway.models`` imports ``identity.models`` to gather every table).
"""
