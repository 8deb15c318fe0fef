"""The sales service's routes for sales targets (with their attainment)."""
from __future__ import annotations

from gateway.routes.model import crud

ROUTES = tuple(crud("sales", "/api/v1/targets", "target_id", "sales", "target", "targets", "Target", delete=True))
