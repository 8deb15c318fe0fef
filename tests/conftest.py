"""Test set-up shared by every tier.

eventlet is patched here, before anything imports sockets, because the
integration tier runs nameko containers in the test process (nameko
recommends patching in conftest rather than in its pytest plugin).
"""
import warnings

warnings.filterwarnings("ignore", message=".*Eventlet is deprecated.*")

import eventlet  # noqa: E402

eventlet.monkey_patch()

from crm_kit.records.db import make_green  # noqa: E402

make_green()


def _on_the_postgresql_platform(item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and callspec.params.get("backend") == "postgresql"


def pytest_collection_modifyitems(config, items):
    """``CRM_TEST_LANE`` (``scripts/test_lanes.py``, ``make test``): ``platform-postgresql`` keeps the
    tests of the shared platform on PostgreSQL, ``rest`` every other test; unset, every test."""
    import os
    lane = os.environ.get("CRM_TEST_LANE")
    if not lane:
        return
    if lane not in ("platform-postgresql", "rest"):
        raise ValueError(f"CRM_TEST_LANE={lane!r}: platform-postgresql or rest")
    keep, drop = [], []
    for item in items:
        (keep if _on_the_postgresql_platform(item) == (lane == "platform-postgresql") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
