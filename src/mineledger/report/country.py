"""The country report: one self-contained HTML page (no network needed) and CSV tables.

The page holds the headline figures, a map of hazards and events over the administrative
boundaries, a chart per year where records are dated (by area where they are not: undated
records are never given the import's date), the per-area tables, the data-quality flags and a
footer crediting every source with its licence. The same tables are written as CSV beside it.

A report goes into a new or empty folder, or replaces an earlier report's folder when asked
(``overwrite``); it is written in a folder beside it and moved into place when whole, and never
through a symbolic link.
"""

from __future__ import annotations

import csv
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from mineledger.access import Action, Session
from mineledger.errors import SourceError
from mineledger.land.engine import AdminLevel, LandClusters
from mineledger.land.landrelease import COLUMNS, rows_by_admin, stored_rows, usable
from mineledger.land import figures as kept_figures
from mineledger.land.summary import from_figures, record_land, summary
from mineledger.model.codes import checked_country
from mineledger.report import charts


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        rows = [{}]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        writer.writerows(rows)


class _Tables:
    """The report's tables, each written as CSV beside the page as it is added."""

    def __init__(self, out: Path):
        self.out = out
        self.tables: list[dict[str, Any]] = []

    def add(self, name: str, title: str, rows, columns: list[str]) -> None:
        rows = [dict(r) for r in rows]  # typed rows (mappings) or dicts
        _write_csv(self.out / f"{name}.csv", rows)
        self.tables.append({"name": name, "title": title, "columns": columns, "rows": rows,
                            "csv": f"{name}.csv"})


def _chart_level(admin, levels: list[int]) -> list[int]:
    """The level with the most areas that still fit a readable bar chart (at most one)."""
    fitting = [lvl for lvl in levels if 1 < len(admin[admin["level"] == lvl]) <= 30]
    return fitting[-1:]


class _Levels(dict):
    """The administrative levels of a country, each prepared (:class:`AdminLevel`) once, when
    first asked for."""

    def __init__(self, admin):
        super().__init__()
        self.admin = admin

    def __missing__(self, level: int) -> AdminLevel:
        self[level] = AdminLevel(level, self.admin[self.admin["level"] == level])
        return self[level]


def _area_tables(figures, admin, hazards, cleared, levels, tables, land,
                 prepared: _Levels, kept) -> dict:
    """Suspected hazardous and cleared area by every administrative level (from the figures
    kept at each commit where they give it); returns the rows by level (for the chart)."""
    area_levels = {}

    def land_rows(layer, records, lvl, areas):
        if kept is not None and not kept.coded():
            which = "hazard_records" if layer == "hazards" else "outcome_records"
            return kept.record_rows(which, lvl)[0]
        return record_land(land, layer, records, areas, lambda: prepared[lvl])

    for lvl in levels:
        areas = admin[admin["level"] == lvl]
        finest = lvl == figures["admin"]["level"]
        haz_rows = (figures["hazards"]["by_admin"] if finest
                    else land_rows("hazards", hazards, lvl, areas))
        clr_rows = (figures["cleared"]["by_admin"] if finest
                    else land_rows("cleared_areas", cleared, lvl, areas))
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
        tables.add(f"area_by_admin{lvl}",
                   f"Land of hazardous and cleared area records by administrative level {lvl} "
                   "(distinct, overlaps counted once)", rows,
                   ["code", "name", "hazard_km2", "cleared_km2"])
    return area_levels


def _victim_tables(figures, victims, tables):
    """Victims by area and by year; returns the by-year pivot (or None)."""
    if not len(victims):
        return None
    tables.add("victims_by_admin", "Victims by administrative area (by the code each "
               "record carries)", figures["victims"]["by_admin"],
               ["code", "name", "count", "in_gazetteer"])
    by_year = victims.pivot_table(index="year", columns="outcome", values="uuid",
                                  aggfunc="count", fill_value=0)
    rows = [{"year": int(y), **{k: int(v) for k, v in r.items()}} for y, r in by_year.iterrows()]
    tables.add("victims_by_year", "Victims per year", rows, list(rows[0].keys()))
    return by_year


def _event_tables(figures, events, tables):
    """Events by area and by year and type; returns the by-year pivot (or None)."""
    if not len(events):
        return None
    tables.add("events_by_admin", "Events by administrative area (by location)",
               figures["events"]["by_admin"], ["code", "name", "count", "in_gazetteer"])
    dated = events[events["year"].notna()]
    if not len(dated):
        return None
    ev_year = dated.pivot_table(index="year", columns="event_type", values="uuid",
                                aggfunc="count", fill_value=0)
    ev_year.index = ev_year.index.astype(int)
    rows = [{"year": int(y), **{k: int(v) for k, v in r.items()}} for y, r in ev_year.iterrows()]
    tables.add("events_by_year", "Events per year, by type", rows, list(rows[0].keys()))
    return ev_year


def _land_release(country, admin, levels, tables, pictures, land, prepared: _Levels,
                  kept) -> None:
    """The land release ledger by the charted level and by the finest level (from the
    figures kept at each commit where they can give it), and its map."""
    sets = land.sets(recorded=True)
    release_levels = sorted({*_chart_level(admin, levels), *levels[-1:]})
    for lvl in release_levels:
        rows = stored_rows(kept, country, [f"admin{lvl}"])
        rows = [r.to_dict() for r in (rows if rows is not None
                                      else rows_by_admin(sets, prepared[lvl]))]
        for r in rows:
            for c in COLUMNS:
                r[c.replace("_m2", "_km2")] = round(r[c] / 1e6, 4)
        tables.add(f"landrelease_admin{lvl}",
                   f"Land release by administrative level {lvl} (km²; the CSV also in m²)",
                   rows, ["area_code", "area_name"] + [c.replace("_m2", "_km2") for c in COLUMNS])
    if release_levels:
        pictures.append({"title": "Land release",
                         "png": charts.land_map(admin, {name: geoms for name, _, geoms in sets},
                                                release_levels[0], country)})


def _quality(session, country, layers) -> tuple[list[dict], list[dict]]:
    """Flagged geometries by layer, and the catalogue's findings by rule and status."""
    flags = []
    for name, gdf in layers:
        if len(gdf):
            for status, n in gdf["geometry_status"].value_counts().items():
                if status != "ok":
                    flags.append({"layer": name, "flag": status, "count": int(n)})
    findings = session.read_table("quality_findings", country)
    quality = []
    if len(findings):
        live = findings[findings["status"] != "gone"]
        for (rid, sev, status), group in live.groupby(["rule_id", "severity", "status"]):
            quality.append({"rule": rid, "severity": sev, "status": status, "count": int(len(group)),
                            "example": group["reason"].iloc[0]})
    return flags, quality


def _credits(imports, country) -> list[dict[str, Any]]:
    """Every source of the country's records, once, with its publisher and licence."""
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
    return credits


def _cell(column: str, value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if column == "year" or column == "code" or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:,.4f}" if isinstance(value, float) else f"{value:,}"


def environment() -> Environment:
    """The Jinja2 environment of the report templates (``report/templates``), autoescaping."""
    return Environment(loader=PackageLoader("mineledger", "report/templates"),
                       autoescape=select_autoescape(["html", "j2"]))


def _report_file(path: Path) -> bool:
    """Whether a file is one a report writes: the page or a CSV table (``--overwrite``
    replaces only a folder that holds nothing else)."""
    return path.is_file() and (path.name == "index.html" or path.suffix == ".csv")


def _check_out(out: Path, overwrite: bool) -> None:
    """Refuse a folder that is not ours to fill: a symbolic link (or one inside it), a file,
    a folder with files in it (unless ``overwrite`` and it is an earlier report's).

    Raises
    ------
    SourceError
    """
    if out.name in ("", ".", ".."):
        raise SourceError(f"--out {out}: name the report's own folder (such as report-bih), "
                          "which is created, or replaced with --overwrite")
    if out.is_symlink():
        raise SourceError(f"--out {out}: a symbolic link; a report is never written through "
                          "one: name the folder itself")
    if out.exists() and not out.is_dir():
        raise SourceError(f"--out {out}: a file; expected a folder (created if absent)")
    entries = sorted(out.iterdir()) if out.is_dir() else []
    links = [p for p in entries if p.is_symlink()]
    if links:
        raise SourceError(f"--out {out}: {links[0].name} is a symbolic link; a report is never "
                          "written through one")
    if entries and not overwrite:
        names = ", ".join(p.name for p in entries[:3]) + (" …" if len(entries) > 3 else "")
        raise SourceError(f"--out {out}: not empty ({names}); name a new or empty folder, or "
                          "pass --overwrite to replace an earlier report")
    foreign = [p for p in entries if not _report_file(p)]
    if entries and not foreign and not (out / "index.html").is_file():
        foreign = entries
    if foreign:
        raise SourceError(f"--out {out}: holds {foreign[0].name}, which a report does not "
                          "write; --overwrite replaces only the folder of an earlier report")


def _put_in_place(staging: Path, out: Path) -> None:
    """Move the finished report folder ``staging`` to ``out`` (replacing an empty folder, or
    an earlier report's, as checked)."""
    if out.is_dir() and any(out.iterdir()):
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
        os.replace(out, old / out.name)
        os.replace(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, out)  # (over an empty folder too)


def _count(value) -> str:
    """A count with thousands separators; "not recorded" where the source has none (event
    counts say nothing of civilians or minors)."""
    return "not recorded" if value is None else f"{value:,}"


def write_report(session: Session, country: str, out_dir: str | Path, *,
                 overwrite: bool = False, stored: bool = True) -> Path:
    """Write ``index.html`` and CSV tables for one country into the folder ``out_dir``.

    The report is written in a folder beside ``out_dir`` and moved into place when whole, so
    a full disk leaves no half report (and an earlier one as it was).

    Parameters
    ----------
    session : Session
        The store, and who acts (records are read, so viewers and above).
    country : str
        ISO 3166-1 alpha-3 code.
    out_dir : str or Path
        A new or empty folder (created, with its parents, if absent); an earlier report's
        folder (the page and CSV files only) is replaced with ``overwrite``.
    overwrite : bool
        Replace the folder of an earlier report.
    stored : bool
        Take the headline figures and the land release tables from the figures kept at
        each commit (:mod:`mineledger.land.figures`) where they can give them; false
        computes everything from the records (the same report, to the last digit).

    Returns
    -------
    Path
        The HTML file.

    Raises
    ------
    QueryError
        The store has no records of that country.
    PermissionDenied
        The acting user may not read records (of that country).
    SourceError
        ``out_dir`` is a file, a symbolic link or holds one, is not empty (without
        ``overwrite``) or holds files a report does not write; or the file system refused a
        write (a full disk …): nothing is left behind.
    """
    country = checked_country(country)
    session.require(Action.READ, country=country)
    out = Path(out_dir)
    _check_out(out, overwrite)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial",
                                        dir=out.parent))
        # mkdtemp's folder is private (0700); the report's is the folder it replaces, or
        # what a new folder gets here (the umask)
        staging.chmod(stat.S_IMODE(out.stat().st_mode) if out.is_dir() else 0o777 & ~_umask())
    except OSError as exc:
        raise SourceError(f"--out {out}: cannot write the report: {exc.strerror or exc}; "
                          "nothing was written") from None
    try:
        _write_pages(session, country, staging, stored)
        _put_in_place(staging, out)
    except OSError as exc:
        raise SourceError(f"--out {out}: cannot write the report: {exc.strerror or exc}; "
                          "nothing was written") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / "index.html"


def _umask() -> int:
    """The process's umask (read by setting it, then setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_pages(session: Session, country: str, out: Path, stored: bool) -> None:
    """The report's page and tables, written into the folder ``out``."""
    session = session.reading_once()  # the summary reads the layers the tables read
    admin = session.read_layer("admin_areas", country)
    hazards = session.read_layer("hazards", country)
    cleared = session.read_layer("cleared_areas", country)
    # the land of all records, prepared once for the figures, the tables and the maps
    land = LandClusters(usable(hazards), usable(cleared))
    land.sets(recorded=True)  # kept: the summary's sets are among them
    prepared = _Levels(admin)
    # the figures kept at each commit, read once: every table they give is of one instant
    kept = kept_figures.stored_land(session, country) if stored else None
    figures = from_figures(session, country, kept) or summary(session, country, land=land,
                                                              stored=False)
    events = session.read_layer("events", country)
    victims = session.read_layer("victims", country)
    tables = _Tables(out)
    levels = sorted(int(x) for x in admin["level"].unique()) if len(admin) else []
    area_levels = _area_tables(figures, admin, hazards, cleared, levels, tables, land,
                               prepared, kept) if len(hazards) or len(cleared) else {}
    by_year = _victim_tables(figures, victims, tables)
    ev_year = _event_tables(figures, events, tables)
    pictures = [{"title": "Map", "png": charts.overview_map(admin, hazards, cleared, events,
                                                            country)}]
    if by_year is not None or ev_year is not None:
        pictures.append({"title": "Per year", "png": charts.year_chart(by_year, ev_year)})
    if area_levels:
        lvl = (_chart_level(admin, levels) or levels[-1:])[0]
        haz_rows, clr_rows = area_levels[lvl]
        pictures.append({"title": "By area", "png": charts.area_chart(haz_rows, clr_rows, lvl)})
    if len(hazards) or len(cleared):
        _land_release(country, admin, levels, tables, pictures, land, prepared, kept)
    flags, quality = _quality(session, country, (("hazards", hazards), ("cleared areas", cleared),
                                                 ("events", events), ("victims", victims)))
    html = environment().get_template("report.html.j2").render(
        f=figures.to_dict(), charts=pictures, tables=tables.tables, flags=flags,
        credits=_credits(session.read_table("imports"), country), quality=quality,
        km2=lambda m2: f"{m2 / 1e6:,.2f}", n=_count, cell=_cell)
    (out / "index.html").write_text(html, encoding="utf-8")
