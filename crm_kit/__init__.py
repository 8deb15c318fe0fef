"""crm_kit: the shared service kit every bounded context builds on.

A service imports ``crm_kit`` and its own package, never another service.
The kit owns the cross-cutting plumbing: configuration, the unit of work,
the transactional outbox, idempotent event consumers with dead-lettering,
typed RPC errors, request context (request id, principal), JSON logging,
Prometheus metrics and health checks.
"""
