"""Fixtures of the leads unit tests: the leads database on SQLite, or on both backends for what
differs by dialect (``services.leads.application.storage``)."""
from __future__ import annotations

import pytest

from services.leads.models import Base


@pytest.fixture
def db(make_db):
    return make_db(Base, "leads")


@pytest.fixture(params=["sqlite", "postgresql"])
def both_db(request, make_db):
    """For what is written in bulk (``crm_kit.records.bulk.bulk_insert`` differs by dialect)."""
    return make_db(Base, "leads", backend=request.param)
