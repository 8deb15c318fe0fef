"""Support's unit fixtures: its database on a fresh SQLite file."""
import pytest

from services.support.models import Base


@pytest.fixture
def db(make_db):
    return make_db(Base, "support")
