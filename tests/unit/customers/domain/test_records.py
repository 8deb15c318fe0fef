"""The customer record's rules as tables: profile completeness, an individual's fields, the map's
bounding box and distance, the preset views."""
from __future__ import annotations

import datetime as dt

import pytest

from services.customers.domain import completeness, geo, individual_fields_refused, views

COMPANY = {"name": "Initech", "kind": "company"}
INDIVIDUAL = {"name": "Wang", "kind": "individual"}


@pytest.mark.parametrize("values, filled, editable, percent", [
    (COMPANY, ["name", "kind"], 16, 13),                                          # 2/16 = 12.5 -> 13
    (INDIVIDUAL, ["name", "kind"], 18, 11),                                       # 2/18
    ({**COMPANY, "industry": "x", "level": "A", "tags": ["vip"]}, ["name", "kind", "industry", "level", "tags"],
     16, 31),                                                                     # 5/16 = 31.25
    ({**COMPANY, "industry": "  ", "tags": [], "notes": ""}, ["name", "kind"], 16, 13),   # blank is not edited
    ({**COMPANY, "latitude": 31.2, "longitude": None}, ["name", "kind"], 16, 13),  # half a location is none
    ({**COMPANY, "latitude": 0.0, "longitude": 0.0}, ["name", "kind", "location"], 16, 19),   # 0,0 is a place
    ({**COMPANY, "gender": "male", "birthday": dt.date(1980, 1, 1)}, ["name", "kind"], 16, 13),   # not a company's
    ({**INDIVIDUAL, "gender": "male", "birthday": dt.date(1980, 1, 1)}, ["name", "kind", "gender", "birthday"],
     18, 22),
    ({**COMPANY, **{f: "x" for f in completeness.EDITABLE_FIELDS if f not in ("kind", "location", "tags")},
      "latitude": 1.0, "longitude": 2.0, "tags": ["a"]}, list(completeness.EDITABLE_FIELDS), 16, 100),
])
def test_profile_completeness(values, filled, editable, percent):
    assert completeness.filled_fields(values) == filled
    assert len(completeness.editable_fields(values["kind"])) == editable
    assert completeness.profile_completeness(values) == percent


def test_completeness_reads_objects_too():
    class Row:
        name, kind, industry, tags, latitude, longitude = "A", "company", "x", ["t"], None, None
    assert completeness.profile_completeness(Row()) == 25          # name, kind, industry, tags: 4/16


@pytest.mark.parametrize("kind, fields, errors", [
    ("individual", {"gender": "male", "birthday": dt.date(1990, 1, 1)}, {}),
    ("company", {"gender": None, "birthday": None}, {}),
    ("company", {"gender": "female"}, {"gender": ["Only an individual customer has this field."]}),
    ("company", {"birthday": dt.date(1990, 1, 1)}, {"birthday": ["Only an individual customer has this field."]}),
])
def test_individual_fields(kind, fields, errors):
    assert individual_fields_refused(kind, fields) == errors


SHANGHAI = (31.2304, 121.4737)


@pytest.mark.parametrize("lat, lng, other, km", [
    (*SHANGHAI, (39.9042, 116.4074), 1067.0),       # Beijing
    (*SHANGHAI, SHANGHAI, 0.0),
    (0.0, 179.9, (0.0, -179.9), 22.2),             # across the antimeridian
    (89.9, 0.0, (89.9, 180.0), 22.2),               # over the pole
])
def test_distance(lat, lng, other, km):
    assert geo.distance_km(lat, lng, *other) == pytest.approx(km, abs=1.0)


@pytest.mark.parametrize("lat, lng, radius, lng_ranges", [
    (*SHANGHAI, 5, 1),
    (0.0, 179.99, 10, 2),          # wraps: two longitude ranges
    (0.0, -179.99, 10, 2),
    (89.99, 10.0, 5, 1),           # a pole within: every longitude
])
def test_bounding_box_holds_every_point_within_the_radius(lat, lng, radius, lng_ranges):
    box = geo.bounding_box(lat, lng, radius)
    assert len(box.lng_ranges) == lng_ranges
    for bearing in range(0, 360, 15):       # points on the circle (and just inside) are in the box
        import math
        d = (radius * 0.999) / geo.EARTH_RADIUS_KM
        p1, l1, b = math.radians(lat), math.radians(lng), math.radians(bearing)
        p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
        l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
        plat, plng = math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180
        assert geo.distance_km(lat, lng, plat, plng) <= radius
        assert box.min_lat <= plat <= box.max_lat
        assert any(lo <= plng <= hi for lo, hi in box.lng_ranges), (bearing, plng, box)


@pytest.mark.parametrize("radius, other, inside", [
    (5, (31.2304, 121.52), True),       # ~4.4 km east
    (5, (31.2304, 121.53), False),      # ~5.4 km east: in the box's corner area, not the circle
    (5, (31.27, 121.51), False),        # the box's corner
    (5, (None, None), False),
])
def test_within(radius, other, inside):
    assert geo.within(*SHANGHAI, radius, *other) is inside


@pytest.mark.parametrize("scope, role, departments, view", [
    (None, "member", ("d1",), views.View()),
    ("all", "manager", ("d1", "d1a"), views.View()),
    ("mine", "member", ("d1",), views.View(owner_id="u")),
    ("team", "member", ("d1",), views.View(team_member="u")),
    ("subordinates", "manager", ("d1", "d1a"), views.View(department_ids=("d1", "d1a"), exclude_owner="u")),
    ("subordinates", "admin", ("d0",), views.View(department_ids=("d0",), exclude_owner="u")),
    ("subordinates", "member", ("d1",), views.View(nothing=True)),       # a member has no subordinates
    ("subordinates", "manager", (), views.View(nothing=True)),
])
def test_views(scope, role, departments, view):
    assert views.view_of(scope, "u", role, departments) == view


def test_unknown_view():
    with pytest.raises(ValueError):
        views.view_of("everything", "u", "admin", ())
