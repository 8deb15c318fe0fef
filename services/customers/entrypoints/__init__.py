"""The customers service's entrypoints, a module per subject (as ``application``): each module's class
holds the RPC methods, event handlers and periodic jobs of its subject, and ``CustomersService``
(``service.py``) derives from them all."""
