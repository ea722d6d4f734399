"""Linking events to the area they lie in or near."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod

from mineledger.land.links import compute_links, link_events
from tests.test_geo import metric_square

GEOD = Geod(ellps="WGS84")
SQ = metric_square(17.0, 44.0, 100.0)


def frame(prefix, geoms):
    return gpd.GeoDataFrame({"uuid": [f"{prefix}{i}" for i in range(len(geoms))]},
                            geometry=gpd.GeoSeries(geoms, crs=4326))


def east_of_square(metres):
    lon, lat, _ = GEOD.fwd(SQ.bounds[2], 44.0005, 90, metres)
    return shapely.Point(lon, lat)


def test_inside_near_and_far():
    events = frame("e", [shapely.Point(17.0003, 44.0003), east_of_square(60), east_of_square(140), None])
    links = compute_links(events, frame("h", [SQ]), frame("c", []), within_m=100)
    assert links["e0"] == ("hazards", "h0", 0.0)
    layer, uid, d = links["e1"]
    assert (layer, uid) == ("hazards", "h0") and d == pytest.approx(60, abs=0.5)
    assert links["e2"] == (None, None, None) and links["e3"] == (None, None, None)


def test_hazard_wins_over_cleared_area_when_inside_both():
    events = frame("e", [shapely.Point(17.0003, 44.0003)])
    links = compute_links(events, frame("h", [SQ]), frame("c", [SQ]))
    assert links["e0"][0] == "hazards"


def test_bih_links_against_a_spatial_join(real_store):
    counts = link_events(real_store, "BIH")
    events = real_store.read_layer("events", "BIH")
    hazards = real_store.read_layer("hazards", "BIH")
    hazards = hazards[[g is not None and not g.is_empty for g in hazards.geometry.array]]
    inside = gpd.sjoin(events, hazards[["geometry"]], predicate="intersects")
    assert counts["in_hazard"] == inside.index.nunique() == 357
    assert counts["events"] == 2367
    assert counts["in_hazard"] + counts["in_cleared"] + counts["near"] + counts["unlinked"] == 2367
    assert (counts["in_cleared"], counts["near"]) == (84, 581)
    again = link_events(real_store, "BIH")
    assert again["changed"] == 0
    log = real_store.read_table("change_log")
    assert (log.reason.str.startswith("linked to the area")).sum() == counts["changed"]


@pytest.mark.parametrize("within", [0, -5, float("nan"), float("inf")])
def test_link_distance_must_be_positive_and_finite(real_store, within):
    from mineledger import QueryError

    with pytest.raises(QueryError, match="expected a distance in metres greater than 0"):
        link_events(real_store, "BIH", within_m=within)
