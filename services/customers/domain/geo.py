"""Distances on the map (地图视图, "附近客户"): a bounding box around a point for an indexed prefilter,
and the exact great-circle distance (haversine) that decides.

Coordinates are WGS 84 degrees; the Earth a sphere of mean radius 6,371.0088 km (the error against the
ellipsoid is below 0.5 %, far less than a customer's address is precise). The box holds every point
within the radius: latitude +- radius / 111.19 km, longitude +- the same divided by the cosine of the
latitude farthest from the equator within the box; near a pole it spans every longitude, and across
the antimeridian (180 deg) it wraps: :func:`bounding_box` then gives two longitude ranges.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180.0      # along a meridian: ~111.195 km
MAX_RADIUS_KM = 1000.0


@dataclass(frozen=True)
class Box:
    """``min_lat <= lat <= max_lat`` and ``lng`` in one of ``lng_ranges`` (each ``(low, high)``)."""
    min_lat: float
    max_lat: float
    lng_ranges: tuple[tuple[float, float], ...]


def bounding_box(lat: float, lng: float, radius_km: float) -> Box:
    """The smallest latitude/longitude box (a little larger near its edges) holding every point
    within ``radius_km`` of (``lat``, ``lng``)."""
    dlat = radius_km / KM_PER_DEGREE
    min_lat, max_lat = lat - dlat, lat + dlat
    if min_lat <= -90.0 or max_lat >= 90.0:            # a pole inside: every longitude
        return Box(max(min_lat, -90.0), min(max_lat, 90.0), ((-180.0, 180.0),))
    widest = max(abs(min_lat), abs(max_lat))
    dlng = dlat / math.cos(math.radians(widest))
    if dlng >= 180.0:
        return Box(min_lat, max_lat, ((-180.0, 180.0),))
    low, high = lng - dlng, lng + dlng
    if low < -180.0:
        return Box(min_lat, max_lat, ((low + 360.0, 180.0), (-180.0, high)))
    if high > 180.0:
        return Box(min_lat, max_lat, ((low, 180.0), (-180.0, high - 360.0)))
    return Box(min_lat, max_lat, ((low, high),))


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """The great-circle distance (haversine) between two points, in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def within(lat: float, lng: float, radius_km: float, other_lat: float | None, other_lng: float | None) -> bool:
    """Whether (``other_lat``, ``other_lng``) is within ``radius_km`` of (``lat``, ``lng``); a record
    without a location never is."""
    if other_lat is None or other_lng is None:
        return False
    return distance_km(lat, lng, other_lat, other_lng) <= radius_km
