"""The country report: one self-contained HTML page (no network needed) and CSV tables.

The page holds the headline figures, a map of hazards and events over the administrative
boundaries, a chart per year where records are dated (by area where they are not: undated
records are never given the import's date), the per-area tables, the data-quality flags and a
footer crediting every source with its licence. The same tables are written as CSV beside it.
"""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import geopandas as gpd  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from jinja2 import Environment, PackageLoader, select_autoescape  # noqa: E402

from mineledger.land.admin_areas import land_by_admin  # noqa: E402
from mineledger.land.summary import summary  # noqa: E402
from mineledger.store.base import Store  # noqa: E402

_COLOURS = {
    "accident_ap_mine": "#d62728", "accident_uxo": "#ff7f0e", "stored_arsenal": "#8c564b",
    "military_demining": "#1f77b4", "seizure": "#9467bd", "uxo_found": "#e377c2",
    "mine_production_site": "#7f7f7f", "suspected_minefield": "#bcbd22",
    "mine_incident": "#000000", "lifted_minefield": "#17becf",
}


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _usable(gdf):
    return gdf[[g is not None and not g.is_empty for g in gdf.geometry.array]]


def _map(admin, hazards, cleared, events, country) -> str:
    fig, ax = plt.subplots(figsize=(9, 9))
    levels = sorted(admin["level"].unique()) if len(admin) else []
    for lvl in levels:
        layer = admin[admin["level"] == lvl]
        width = 1.2 if lvl == levels[0] else 0.3
        layer.boundary.plot(ax=ax, color="#555555" if lvl == levels[0] else "#aaaaaa",
                            linewidth=width, zorder=1)
    handles = []
    if len(_usable(cleared)):
        _usable(cleared).plot(ax=ax, color="#2ca02c", edgecolor="#2ca02c", linewidth=0.3, zorder=2)
        handles.append(plt.Rectangle((0, 0), 1, 1, color="#2ca02c", label="cleared area"))
    if len(_usable(hazards)):
        _usable(hazards).plot(ax=ax, color="#d62728", edgecolor="#d62728", linewidth=0.3, zorder=3)
        handles.append(plt.Rectangle((0, 0), 1, 1, color="#d62728", label="suspected hazardous area"))
    pts = _usable(events)
    if len(pts):
        for etype, group in sorted(pts.groupby("event_type"), key=lambda kv: -len(kv[1])):
            ax.scatter(group.geometry.x, group.geometry.y, s=3 if len(pts) > 5000 else 6,
                       color=_COLOURS.get(etype, "#333333"), alpha=0.6, zorder=4,
                       label=f"{etype.replace('_', ' ')} ({len(group):,})", linewidths=0)
    if len(admin):
        minx, miny, maxx, maxy = admin.total_bounds
        pad = 0.02 * max(maxx - minx, maxy - miny)
        ax.set_xlim(minx - pad, maxx + pad)
        ax.set_ylim(miny - pad, maxy + pad)
        ax.set_aspect(1 / np.cos(np.radians((miny + maxy) / 2)))
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    shown = [name for name, present in (("hazardous areas", len(_usable(hazards))),
                                        ("cleared areas", len(_usable(cleared))),
                                        ("events", len(pts))) if present]
    what = ", ".join(shown[:-1]) + (" and " if len(shown) > 1 else "") + shown[-1] if shown else "records"
    ax.set_title(f"{country}: {what} over administrative boundaries")
    existing = ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles + existing, loc="lower left", fontsize=8, markerscale=3,
              framealpha=0.9)
    return _png(fig)


def _year_chart(victims_by_year, events_by_type_year) -> str:
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


def _area_chart(rows: list[dict[str, Any]], cleared_rows: list[dict[str, Any]], level) -> str:
    haz = {r["name"] or r["code"]: r["area_m2"] / 1e6 for r in rows}
    clr = {r["name"] or r["code"]: r["area_m2"] / 1e6 for r in cleared_rows}
    names = sorted(set(haz) | set(clr), key=lambda n: haz.get(n, 0))
    fig, ax = plt.subplots(figsize=(10, max(3, 0.35 * len(names) + 1)))
    y = np.arange(len(names))
    ax.barh(y - 0.2, [haz.get(n, 0) for n in names], height=0.4, color="#d62728",
            label="suspected hazardous area (distinct)")
    ax.barh(y + 0.2, [clr.get(n, 0) for n in names], height=0.4, color="#2ca02c",
            label="cleared area (distinct)")
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel("km²")
    ax.set_title(f"Area by administrative level {level} (records are undated, so by area, not year)")
    ax.legend()
    return _png(fig)


def _land_map(admin, sets, level, country) -> str:
    """Remaining suspected land, released land and land that is both, over boundaries."""
    fig, ax = plt.subplots(figsize=(9, 9))
    layer = admin[admin["level"] == level]
    layer.boundary.plot(ax=ax, color="#777777", linewidth=0.6, zorder=1)
    colours = [("remaining", "#d62728", "remaining suspected"), ("cleared", "#2ca02c", "cleared"),
               ("reduced", "#98df8a", "reduced"), ("cancelled", "#c5b0d5", "cancelled"),
               ("both", "#1f1f1f", "released yet still suspected (both)")]
    handles = []
    for key, colour, label in colours:
        geom = sets.get(key)
        if geom is None or geom.is_empty:
            continue
        gpd.GeoSeries([geom], crs=4326).plot(ax=ax, color=colour, edgecolor=colour,
                                             linewidth=0.4, zorder=3 if key == "both" else 2)
        handles.append(plt.Rectangle((0, 0), 1, 1, color=colour, label=label))
    if len(layer):
        minx, miny, maxx, maxy = layer.total_bounds
        ax.set_aspect(1 / np.cos(np.radians((miny + maxy) / 2)))
    ax.set_title(f"{country}: land release over administrative level {level}")
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    ax.legend(handles=handles, loc="lower left", fontsize=8)
    return _png(fig)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        rows = [{}]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        writer.writerows(rows)


def write_report(store: Store, country: str, out_dir: str | Path) -> Path:
    """Write ``index.html`` and CSV tables for one country into ``out_dir``.

    Parameters
    ----------
    store : Store
    country : str
        ISO 3166-1 alpha-3 code.
    out_dir : str or Path
        Created if absent; files in it of the same names are replaced.

    Returns
    -------
    Path
        The HTML file.

    Raises
    ------
    QueryError
        The store has no records of that country.
    """
    from mineledger.access.roles import Action, require

    country = country.upper()
    require(store, Action.READ, country=country)
    figures = summary(store, country)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    admin = store.read_layer("admin_areas", country)
    hazards = store.read_layer("hazards", country)
    cleared = store.read_layer("cleared_areas", country)
    events = store.read_layer("events", country)
    victims = store.read_layer("victims", country)
    imports = store.read_table("imports")

    tables: list[dict[str, Any]] = []

    def add_table(name, title, rows, columns):
        _write_csv(out / f"{name}.csv", rows)
        tables.append({"name": name, "title": title, "columns": columns, "rows": rows,
                       "csv": f"{name}.csv"})

    levels = sorted(int(x) for x in admin["level"].unique()) if len(admin) else []
    area_levels = {}
    if len(hazards) or len(cleared):
        for lvl in levels:
            areas = admin[admin["level"] == lvl]
            haz_rows = (figures["hazards"]["by_admin"] if lvl == figures["admin"]["level"]
                        else land_by_admin(store, "hazards", country, lvl, hazards, areas))
            clr_rows = (figures["cleared"]["by_admin"] if lvl == figures["admin"]["level"]
                        else land_by_admin(store, "cleared_areas", country, lvl, cleared, areas))
            area_levels[lvl] = (haz_rows, clr_rows)
            merged: dict[str, dict[str, Any]] = {}
            for key, rows in (("hazard_m2", haz_rows), ("cleared_m2", clr_rows)):
                for r in rows:
                    m = merged.setdefault(r["code"], {"code": r["code"], "name": r["name"],
                                                      "hazard_m2": 0.0, "cleared_m2": 0.0})
                    m[key] = r["area_m2"]
            rows = sorted(merged.values(), key=lambda r: (r["code"] == "unassigned", r["code"]))
            rows = [{**r, "hazard_km2": round(r["hazard_m2"] / 1e6, 4),
                     "cleared_km2": round(r["cleared_m2"] / 1e6, 4)} for r in rows]
            add_table(f"area_by_admin{lvl}",
                      f"Suspected hazardous and cleared area by administrative level {lvl} "
                      "(distinct, overlaps counted once)", rows,
                      ["code", "name", "hazard_km2", "cleared_km2"])
    if len(victims):
        add_table("victims_by_admin", "Victims by administrative area (by the code each "
                  "record carries)", figures["victims"]["by_admin"],
                  ["code", "name", "count", "in_gazetteer"])
        by_year = victims.pivot_table(index="year", columns="outcome", values="uuid",
                                      aggfunc="count", fill_value=0)
        rows = [{"year": int(y), **{k: int(v) for k, v in r.items()}} for y, r in by_year.iterrows()]
        add_table("victims_by_year", "Victims per year", rows, list(rows[0].keys()))
    else:
        by_year = None
    if len(events):
        add_table("events_by_admin", "Events by administrative area (by location)",
                  figures["events"]["by_admin"], ["code", "name", "count", "in_gazetteer"])
        dated = events[events["year"].notna()]
        ev_year = (dated.pivot_table(index="year", columns="event_type", values="uuid",
                                     aggfunc="count", fill_value=0) if len(dated) else None)
        if ev_year is not None:
            ev_year.index = ev_year.index.astype(int)
            rows = [{"year": int(y), **{k: int(v) for k, v in r.items()}}
                    for y, r in ev_year.iterrows()]
            add_table("events_by_year", "Events per year, by type", rows, list(rows[0].keys()))
    else:
        ev_year = None

    charts = []
    charts.append({"title": "Map", "png": _map(admin, hazards, cleared, events, country)})
    if by_year is not None or ev_year is not None:
        charts.append({"title": "Per year", "png": _year_chart(by_year, ev_year)})
    if area_levels:
        # the level with the most areas that still fit a readable bar chart
        fitting = [lvl for lvl in levels if 1 < len(admin[admin["level"] == lvl]) <= 30]
        lvl = fitting[-1] if fitting else levels[-1]
        haz_rows, clr_rows = area_levels[lvl]
        charts.append({"title": "By area", "png": _area_chart(haz_rows, clr_rows, lvl)})

    # land release: the ledger by the charted level and by the finest level
    if len(hazards) or len(cleared):
        from mineledger.land.landrelease import COLUMNS, land_sets, rows_by_admin

        sets = land_sets(store, country)
        fitting = [lvl for lvl in levels if 1 < len(admin[admin["level"] == lvl]) <= 30]
        release_levels = sorted({*(fitting[-1:] if fitting else []), *(levels[-1:] if levels else [])})
        for lvl in release_levels:
            rows = rows_by_admin(sets, admin[admin["level"] == lvl])
            for r in rows:
                for c in COLUMNS:
                    r[c.replace("_m2", "_km2")] = round(r[c] / 1e6, 4)
            add_table(f"landrelease_admin{lvl}",
                      f"Land release by administrative level {lvl} (km²; the CSV also in m²)",
                      rows, ["area_code", "area_name"] + [c.replace("_m2", "_km2") for c in COLUMNS])
        if release_levels:
            charts.append({"title": "Land release",
                           "png": _land_map(admin, sets, release_levels[0], country)})

    flags = []
    for name, gdf in (("hazards", hazards), ("cleared areas", cleared), ("events", events),
                      ("victims", victims)):
        if len(gdf):
            counts = gdf["geometry_status"].value_counts()
            for status, n in counts.items():
                if status != "ok":
                    flags.append({"layer": name, "flag": status, "count": int(n)})
    findings = store.read_table("quality_findings", country)
    quality = []
    if len(findings):
        live = findings[findings["status"] != "gone"]
        for (rid, sev, status), group in live.groupby(["rule_id", "severity", "status"]):
            quality.append({"rule": rid, "severity": sev, "status": status, "count": int(len(group)),
                            "example": group["reason"].iloc[0]})
    sources = (imports[(imports["country"] == country) | imports["country"].isna()]
               if len(imports) else imports)
    seen, credits = set(), []
    for r in sources.itertuples():
        key = (r.title, r.publisher, r.licence)
        if key in seen or not r.title:
            continue
        seen.add(key)
        files = sorted(set(sources[(sources["title"] == r.title)]["source_file"]))
        credits.append({"title": r.title, "publisher": r.publisher, "licence": r.licence,
                        "url": r.url, "files": files})
    def cell(column: str, value: Any) -> str:
        if isinstance(value, bool) or value is None:
            return "" if value is None else str(value).lower()
        if column == "year" or column == "code" or not isinstance(value, (int, float)):
            return str(value)
        return f"{value:,.4f}" if isinstance(value, float) else f"{value:,}"

    env = Environment(loader=PackageLoader("mineledger", "report/templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template("report.html.j2").render(
        f=figures, charts=charts, tables=tables, flags=flags, credits=credits, quality=quality,
        km2=lambda m2: f"{m2 / 1e6:,.2f}", cell=cell)
    index = out / "index.html"
    index.write_text(html, encoding="utf-8")
    return index
