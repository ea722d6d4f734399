"""Linking point events (incidents, lifted minefields …) to the areas they fall in or near.

Rule: an event inside a hazardous area is linked to it (distance 0); else one inside a cleared
area to that; else the nearest hazardous or cleared area within ``within_m`` metres (default
100 m). Why 100 m: the BiH points and polygons were digitised from 1:50,000 map sheets, where
0.5 mm of drawing error is 25 m and a point symbol is drawn up to 2 mm (100 m) off the place it
marks; beyond that, nearness says little. Measured on the BiH data: 242 of 1,442 incidents fall
inside an area, 584 within 100 m, 898 within 500 m.

Distances are in metres in an azimuthal equidistant projection centred on the country's
events, which keeps them within 0.1 % over a country of a few hundred kilometres.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from mineledger.access import Action, Session
from mineledger.errors import QueryError
from mineledger.ledger.asof import require_country
from mineledger.model.codes import checked_country

#: Default distance within which an event is linked to the nearest area, m.
LINK_DISTANCE_M = 100.0


def _usable(gdf):
    return gdf.loc[np.asarray([g is not None and not g.is_empty for g in gdf.geometry.array],
                              dtype=bool)] if len(gdf) else gdf


def compute_links(events: gpd.GeoDataFrame, hazards: gpd.GeoDataFrame,
                  cleared: gpd.GeoDataFrame, within_m: float = LINK_DISTANCE_M) -> dict[str, tuple]:
    """``{event uuid: (layer, area uuid, distance m) or (None, None, None)}``."""
    pts = _usable(events)
    out: dict[str, tuple] = {u: (None, None, None) for u in events["uuid"]}
    if not len(pts):
        return out
    lon, lat = pts.geometry.x.mean(), pts.geometry.y.mean()
    aeqd = f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m"
    p = pts[["uuid", pts.geometry.name]].to_crs(aeqd)
    candidates = []
    for layer, areas in (("hazards", hazards), ("cleared_areas", cleared)):
        areas = _usable(areas)
        if not len(areas):
            continue
        a = areas[["uuid", areas.geometry.name]].rename(columns={"uuid": "area_uuid"}).to_crs(aeqd)
        near = gpd.sjoin_nearest(p, a, how="inner", max_distance=within_m, distance_col="d")
        near["layer"] = layer
        candidates.append(near[["uuid", "area_uuid", "d", "layer"]])
    if not candidates:
        return out
    best = pd.concat(candidates)
    # inside a hazard first, then inside a cleared area, then the nearest; ties by id
    best["rank"] = np.where(best["d"] <= 0, np.where(best["layer"] == "hazards", 0, 1), 2)
    best = best.sort_values(["uuid", "rank", "d", "area_uuid"]).drop_duplicates("uuid")
    for r in best.itertuples():
        out[r.uuid] = (r.layer, r.area_uuid, round(float(r.d), 3))
    return out


def link_events(session: Session, country: str, *, within_m: float = LINK_DISTANCE_M,
                command: str = "link") -> dict[str, Any]:
    """Link a country's events to hazardous or cleared areas; write changed links through the
    change log, as the acting user.

    Returns
    -------
    dict
        Counts: ``{"events", "in_hazard", "in_cleared", "near", "unlinked", "changed"}`` and
        ``link_id``, the id its changes carry in the change log (``mineledger link --revert
        LINK_ID`` undoes them; so does ``imports revert`` of it).

    Raises
    ------
    QueryError
        A distance that is not a positive number of metres; a country the store does not hold.
    PermissionDenied
        The acting user may not change records in that country.
    """
    if not (isinstance(within_m, (int, float)) and math.isfinite(within_m) and within_m > 0):
        raise QueryError(f"--within {within_m!r}: expected a distance in metres greater than 0")
    country = checked_country(country)
    actor = session.require(Action.AMEND, country=country)
    require_country(session, country)
    events = session.read_layer("events", country)
    links = compute_links(events, session.read_layer("hazards", country),
                          session.read_layer("cleared_areas", country), within_m)
    link_id = f"link-{uuid.uuid4()}"
    counts = {"events": len(events), "in_hazard": 0, "in_cleared": 0, "near": 0, "unlinked": 0,
              "changed": 0, "link_id": link_id}
    for layer, _, d in links.values():
        if layer is None:
            counts["unlinked"] += 1
        elif d == 0:
            counts["in_hazard" if layer == "hazards" else "in_cleared"] += 1
        else:
            counts["near"] += 1
    with session.writer(user=actor.name, command=command) as writer:
        current = writer.existing("events", list(links))
        changed = 0
        reason = f"linked to the area it lies in, or the nearest within {within_m:g} m"
        for uid, (layer, area, d) in links.items():
            row = current[uid]
            if (row["link_layer"], row["link_uuid"], row["link_distance_m"]) == (layer, area, d):
                continue
            writer.amend("events", row, {"link_layer": layer, "link_uuid": area,
                                         "link_distance_m": d}, import_id=link_id, reason=reason)
            changed += 1
        counts["changed"] = changed
    return counts
