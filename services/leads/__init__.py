"""The leads bounded context (线索): leads, lead pools, follow-ups, import/export, conversion.

``service.py`` (the nameko entrypoints) over ``application/`` (the use cases, one module per subject)
over ``domain/`` (the rules, no I/O); ``models.py`` its tables, ``schemas.py`` its RPC API,
``events.py`` what it publishes and consumes. ``README.md`` says where each thing is.
"""
