"""The report's pictures: maps and charts drawn with matplotlib, as base64 PNG for an HTML
page that needs no network."""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402
from matplotlib.patches import PathPatch  # noqa: E402
from matplotlib.path import Path  # noqa: E402

from mineledger.geo.arrays import geometry_array  # noqa: E402

_COLOURS = {
    "accident_ap_mine": "#d62728", "accident_uxo": "#ff7f0e", "stored_arsenal": "#8c564b",
    "military_demining": "#1f77b4", "seizure": "#9467bd", "uxo_found": "#e377c2",
    "mine_production_site": "#7f7f7f", "suspected_minefield": "#bcbd22",
    "mine_incident": "#000000", "lifted_minefield": "#17becf",
    "accident_at_mine": "#8b0000", "ied_incident": "#7b4173",
}


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _usable(gdf):
    return gdf[[g is not None and not g.is_empty for g in gdf.geometry.array]]


def _geoms(frame) -> np.ndarray:
    """The geometries of a layer's records; none for an empty layer (which a view as of a
    past instant may give as a plain table, with no geometry column)."""
    if not len(frame) or "geometry" not in frame.columns:
        return geometry_array([])
    return geometry_array(frame["geometry"].array)


def _path(geoms) -> Path | None:
    """All the rings of polygonal or linear geometries as one compound path (``None`` if
    there are none): one artist however many records, drawn in a fraction of the time of a
    patch per polygon. Rings are oriented (exteriors counter-clockwise, holes clockwise), so
    matplotlib's non-zero winding rule fills overlaps and leaves holes empty."""
    geoms = geometry_array(geoms)
    geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    parts = shapely.get_parts(geoms)
    polygons = parts[shapely.get_type_id(parts) == 3]
    lines = parts[np.isin(shapely.get_type_id(parts), (1, 2))]
    rings = np.concatenate([shapely.get_rings(shapely.orient_polygons(polygons)), lines])
    if not len(rings):
        return None
    xy, idx = shapely.get_coordinates(rings, return_index=True)
    closed = shapely.get_type_id(rings) == 2  # linear rings close; lines do not
    first = np.r_[True, idx[1:] != idx[:-1]]
    last = np.r_[idx[1:] != idx[:-1], True]
    codes = np.full(len(xy), Path.LINETO, dtype=Path.code_type)
    codes[first] = Path.MOVETO
    codes[last & closed[idx]] = Path.CLOSEPOLY
    return Path(xy, codes)


def _fill(ax, geoms, colour, *, linewidth=0.3, zorder=2) -> bool:
    """Fill polygonal geometries in one colour (edges too); False if there was nothing."""
    path = _path(geoms)
    if path is None:
        return False
    # add_artist, not add_patch: add_patch walks the path segment by segment in Python to
    # update the data limits, which the maps set themselves (_frame)
    ax.add_artist(PathPatch(path, facecolor=colour, edgecolor=colour, linewidth=linewidth,
                            zorder=zorder))
    return True


def _outline(ax, geoms, colour, *, linewidth, zorder=1) -> None:
    """Draw the boundaries of polygonal geometries."""
    path = _path(geoms)
    if path is not None:
        ax.add_artist(PathPatch(path, fill=False, edgecolor=colour, linewidth=linewidth,
                                zorder=zorder))


def _frame(ax, *layers) -> None:
    """Fit the axes to everything in ``layers`` (arrays of geometries): the boundaries and
    all the records drawn, land outside every area too; with a margin, at the latitude's
    aspect (a degree of longitude is cos φ of one of latitude)."""
    geoms = np.concatenate([geometry_array(g) for g in layers]) if layers else \
        geometry_array([])
    geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    if len(geoms):
        minx, miny, maxx, maxy = shapely.total_bounds(geoms)
        pad = 0.02 * max(maxx - minx, maxy - miny) or 0.01
        ax.set_xlim(minx - pad, maxx + pad)
        ax.set_ylim(miny - pad, maxy + pad)
        ax.set_aspect(1 / max(np.cos(np.radians((miny + maxy) / 2)), 0.01))


def overview_map(admin, hazards, cleared, events, country) -> str:
    fig, ax = plt.subplots(figsize=(9, 9))
    levels = sorted(admin["level"].unique()) if len(admin) else []
    for lvl in levels:
        layer = admin[admin["level"] == lvl]
        width = 1.2 if lvl == levels[0] else 0.3
        _outline(ax, _geoms(layer), "#555555" if lvl == levels[0] else "#aaaaaa",
                 linewidth=width)
    handles = []
    # cleared land over the hazards it was cleared from, or it would not be seen
    if _fill(ax, _geoms(cleared), "#2ca02c", zorder=3):
        handles.append(plt.Rectangle((0, 0), 1, 1, color="#2ca02c", label="cleared area"))
    if _fill(ax, _geoms(hazards), "#d62728", zorder=2):
        handles.append(plt.Rectangle((0, 0), 1, 1, color="#d62728", label="hazardous area (record)"))
    pts = _usable(events)
    if len(pts):
        types = pts["event_type"].fillna("unknown") if "event_type" in pts else \
            pd.Series("unknown", index=pts.index)
        for etype, group in sorted(pts.groupby(types), key=lambda kv: -len(kv[1])):
            ax.scatter(group.geometry.x, group.geometry.y, s=3 if len(pts) > 5000 else 6,
                       color=_COLOURS.get(etype, "#333333"), alpha=0.6, zorder=4,
                       label=f"{etype.replace('_', ' ')} ({len(group):,})", linewidths=0)
    # the boundaries and the land; events only when there is neither (an event far outside
    # the country, GEOM-OUTSIDE-COUNTRY, must not shrink the map to nothing)
    land = [_geoms(admin), _geoms(hazards), _geoms(cleared)]
    _frame(ax, *(land if any(len(g) for g in land) else [_geoms(pts)]))
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    shown = [name for name, present in (("hazardous areas", len(_usable(hazards))),
                                        ("cleared areas", len(_usable(cleared))),
                                        ("events", len(pts))) if present]
    what = ", ".join(shown[:-1]) + (" and " if len(shown) > 1 else "") + shown[-1] if shown else "records"
    ax.set_title(f"{country}: {what} over administrative boundaries")
    existing = ax.get_legend_handles_labels()[0]
    # beside the map, never over the records
    ax.legend(handles=handles + existing, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8,
              markerscale=3,
              framealpha=0.9)
    return _png(fig)


def year_chart(victims_by_year, events_by_type_year) -> str:
    fig, axes = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    if victims_by_year is not None and len(victims_by_year):
        v = victims_by_year
        axes[0].bar(v.index, v.get("killed", 0), color="#d62728", label="killed")
        axes[0].bar(v.index, v.get("injured", 0), bottom=v.get("killed", 0), color="#ff9896",
                    label="injured")
        axes[0].set_ylabel("victims")
        axes[0].legend()
        axes[0].set_title("Victims per year (undated victims not shown)")
    else:
        axes[0].set_visible(False)
    if events_by_type_year is not None and len(events_by_type_year):
        e = events_by_type_year
        bottom = np.zeros(len(e))
        for col in e.columns:
            axes[1].bar(e.index, e[col].values, bottom=bottom, color=_COLOURS.get(col),
                        label=col.replace("_", " "))
            bottom += e[col].values
        axes[1].set_ylabel("events")
        axes[1].legend(fontsize=7, ncol=2)
        axes[1].set_title("Events per year, by type")
    else:
        axes[1].set_visible(False)
    axes[-1].set_xlabel("year")
    return _png(fig)


def area_chart(rows: list[dict[str, Any]], cleared_rows: list[dict[str, Any]], level) -> str:
    haz = {r["name"] or r["code"]: r["area_m2"] / 1e6 for r in rows}
    clr = {r["name"] or r["code"]: r["area_m2"] / 1e6 for r in cleared_rows}
    names = sorted(set(haz) | set(clr), key=lambda n: haz.get(n, 0))
    fig, ax = plt.subplots(figsize=(10, max(3, 0.35 * len(names) + 1)))
    y = np.arange(len(names))
    ax.barh(y - 0.2, [haz.get(n, 0) for n in names], height=0.4, color="#d62728",
            label="land of hazardous area records (distinct)")
    ax.barh(y + 0.2, [clr.get(n, 0) for n in names], height=0.4, color="#2ca02c",
            label="cleared area (distinct)")
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel("km²")
    ax.set_title(f"Area by administrative level {level}")
    ax.legend()
    return _png(fig)


def land_map(admin, sets, level, country) -> str:
    """Remaining (still suspected) land, released land and land that is both, over
    boundaries. ``sets``: ``{set: geometry or array of geometries}``."""
    fig, ax = plt.subplots(figsize=(9, 9))
    layer = admin[admin["level"] == level]
    _outline(ax, _geoms(layer), "#777777", linewidth=0.6)
    colours = [("remaining", "#d62728", "remaining (still suspected)"), ("cleared", "#2ca02c", "cleared"),
               ("reduced", "#98df8a", "reduced"), ("cancelled", "#c5b0d5", "cancelled"),
               ("both", "#1f1f1f", "released, then suspected again (both)")]
    handles = []
    for key, colour, label in colours:
        geom = sets.get(key)
        if geom is None:
            continue
        if _fill(ax, np.atleast_1d(np.asarray(geom, dtype=object)), colour, linewidth=0.4,
                 zorder=3 if key == "both" else 2):
            handles.append(plt.Rectangle((0, 0), 1, 1, color=colour, label=label))
    _frame(ax, _geoms(layer), np.concatenate(
        [np.atleast_1d(np.asarray(g, dtype=object)) for g in sets.values() if g is not None]
        or [geometry_array([])]))
    ax.set_title(f"{country}: land release over administrative level {level}")
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    return _png(fig)


