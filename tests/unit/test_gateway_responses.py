"""How the gateway shapes responses: the Location of a created record."""
from __future__ import annotations

from gateway.routes import ROUTES
from gateway.service import _location


def test_location_takes_path_parameters_then_the_result():
    template = "/api/v1/leads/{lead_id}/follow-ups/{id}"
    assert _location(template, {"lead_id": "L1"}, {"id": "F1", "lead_id": "L1"}) == "/api/v1/leads/L1/follow-ups/F1"
    assert _location("/api/v1/leads/{id}", {}, {"id": "a b/c"}) == "/api/v1/leads/a%20b%2Fc"     # one segment
    assert _location(template, {}, {"id": "F1"}) is None                  # a field nobody gives: no header
    assert _location(template, {"lead_id": "L1"}, None) is None


def test_every_create_route_has_a_location_it_can_fill():
    for route in ROUTES:
        if route.creates:
            assert route.location, f"{route.method} {route.path} answers 201 without a Location"
            path_params = {name: "p" for name in route.path.replace(">", "<").split("<")[1::2]}
            assert _location(route.location, path_params, {"id": "x"}), route.location
