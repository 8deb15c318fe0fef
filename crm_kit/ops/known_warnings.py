"""Third-party warnings we know about and can do nothing about, silenced when a ``crm`` process starts
(``crm serve``, ``crm run``, ``crm migrate``...; ``python -m crm_kit.ops.catalogue``), before they are
imported. Not in the tests: pytest sees every warning (``pyproject.toml`` says which it ignores).

Each entry is the start of the warning's message (any category, from any module: a warning is
attributed to whichever module imported the library first) and why it is known.
"""
from __future__ import annotations

import re
import warnings

KNOWN = (
    ("Eventlet is deprecated", "eventlet says so on import; nameko 2, our service runtime, runs on it"),
    ("DSA is deprecated", "dnspython (which eventlet imports) loads its DNSSEC algorithms from cryptography, "
                          "which we use to seal secrets (crm_kit.records.sealed); we sign nothing with DSA"),
)


def filter_known_warnings() -> None:
    for start, _why in KNOWN:
        # The message may begin with a newline (eventlet's does); filterwarnings matches at the start.
        warnings.filterwarnings("ignore", message=r"\s*" + re.escape(start))
