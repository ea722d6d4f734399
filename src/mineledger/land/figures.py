"""Headline figures kept at commit: what a dashboard shows, read in well under a second.

A country's land (the land release ledger's sets, IMAS 07.11, and the distinct land of its
hazard and outcome records) is stored as *cells*: the land of each cluster (records whose
geometries meet, :class:`mineledger.land.engine.LandClusters`) by set, administrative area and
level, and by year of release. Land in different clusters is disjoint, so a figure is a sum of
cells, and a change to a few records recomputes only the clusters they were and are in (and
those their new geometries meet) — never the country. Counts (hazard and outcome records,
events by type, year and area, casualties) are stored per country as JSON, recomputed when
records of their layers change.

The figures are written in the transaction whose changes they take in (:func:`update`, run
by :meth:`mineledger.access.Session.writer` before it commits) and carry the last change-log
entry they take in: a store changed by anything else (an older mineledger, a schema upgrade)
has its figures behind, and the next summary brings them up to date first (or, if it may not
write, computes the figures without them). ``mineledger figures rebuild`` recomputes them
whole; ``mineledger figures check`` compares them with a full recomputation.

Tables: ``figure_members``, ``figure_cells``, ``figure_counts``, ``figure_state``
(:mod:`mineledger.store.schema`, revision 0004).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from mineledger.access import Action, Session, on_commit
from mineledger.errors import PermissionDenied, StoreError
from mineledger.land.admin_areas import CountRow, finest_level, land_rows
from mineledger.land.engine import AdminLevel, LandClusters, m2_of, measure, table
from mineledger.land.admin_areas import OUTSIDE_AREAS, UNASSIGNED
from mineledger.land.landrelease import (SETS, TOTAL, UNKNOWN, LandRelease, LedgerRow, _groups,
                                         _row_of, _total, ledger_row, usable)
from mineledger.land.summary import point_figures, record_counts
from mineledger.store.base import FigureReader, Writer

#: Groupings of the cells: all the land (at the whole country and every administrative
#: level), the ledger by year (whole country), the records' distinct land (every level).
ALL, YEAR, RECORDS = "", "year", "records"
#: Above this many changed land records of one country, its figures are recomputed whole
#: (one pass over the country beats as many index queries).
WHOLE_ABOVE = 2_000
_LAND = ("hazards", "cleared_areas")
#: The form of the stored counts and cells; figures of another form are recomputed
#: (2: the records' distinct land at every administrative level, not the finest only).
COUNTS_VERSION = 2
_FIGURE_LAYERS = ("hazards", "cleared_areas", "events", "victims", "admin_areas")
_COUNTED = ["uuid", "geometry_status", "area_m2", "admin_code"]
_CELL_COLUMNS = ["cluster", "grouping", "grp", "set_name", "level", "code", "mm2"]


def _cluster_ids(land: LandClusters, hazards, outcomes) -> np.ndarray:
    """The id of each record's cluster (hazards, then outcomes): the smallest uuid in it,
    which no other cluster can hold."""
    uuids = np.concatenate([np.asarray(hazards["uuid"], dtype=object),
                            np.asarray(outcomes["uuid"], dtype=object)])
    first = pd.Series(uuids).groupby(land.label).min()
    return first.reindex(land.label).to_numpy(dtype=object)


def compute_land(hazards: gpd.GeoDataFrame, outcomes: gpd.GeoDataFrame,
                 admin_all: gpd.GeoDataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The members and cells of the land of these records.

    Parameters
    ----------
    hazards, outcomes : GeoDataFrame
        Hazard and land release outcome records (those without a geometry are skipped),
        whole clusters of them.
    admin_all : GeoDataFrame
        The country's administrative areas, every level.

    Returns
    -------
    (DataFrame, DataFrame)
        Members (``layer``, ``uuid``, ``cluster``) and cells (``cluster``, ``grouping``,
        ``grp``, ``set_name``, ``level``, ``code``, ``mm2``: whole mm² on the WGS 84
        ellipsoid, :func:`mineledger.land.engine.whole_mm2`).
    """
    hazards, outcomes = usable(hazards).reset_index(drop=True), \
        usable(outcomes).reset_index(drop=True)
    land = LandClusters(hazards, outcomes)
    ids = _cluster_ids(land, hazards, outcomes)
    members = pd.DataFrame({"layer": ["hazards"] * len(hazards) + ["cleared_areas"] * len(outcomes),
                            "uuid": np.concatenate([hazards["uuid"].to_numpy(dtype=object),
                                                    outcomes["uuid"].to_numpy(dtype=object)]),
                            "cluster": ids})
    if not len(members):
        return members, pd.DataFrame(columns=_CELL_COLUMNS)
    labels = pd.Series(ids).groupby(land.label).first()
    levels = [AdminLevel(int(lv), admin_all[admin_all["level"] == lv])
              for lv in sorted(admin_all["level"].dropna().unique())] if len(admin_all) else []
    frames = [_cells(measure(land.sets(), 1, levels), labels, ALL, [ALL])]
    names, hg, og = _groups(land, "year")
    frames.append(_cells(measure(land.sets(hg, og), max(len(names), 1)), labels, YEAR, names))
    frames.append(_group_markers(land, hg, og, ids, names))
    frames.append(_cells(measure(land.record_sets(), 1, levels), labels, RECORDS, [ALL]))
    return members, pd.concat(frames, ignore_index=True)[_CELL_COLUMNS]


def _group_markers(land: LandClusters, hg, og, ids: np.ndarray, names: list[str]):
    """A cell of no land (set ``records``) for each cluster and year its records are of: the
    ledger by year has a row for every year a record is of, even one whose land is nil."""
    nh = len(land.hazards)
    pairs = pd.DataFrame({"cluster": np.concatenate([ids[:nh][hg.rows], ids[nh:][og.rows]]),
                          "group": np.concatenate([hg.index, og.index])}).drop_duplicates()
    return pd.DataFrame({"cluster": pairs["cluster"].to_numpy(dtype=object), "grouping": YEAR,
                         "grp": np.asarray(names, dtype=object)[pairs["group"].to_numpy()]
                         if len(pairs) else [],
                         "set_name": "records", "level": 0, "code": TOTAL, "mm2": 0})


def _cells(cells: pd.DataFrame, labels: pd.Series, grouping: str, names: list[str]):
    return pd.DataFrame({"cluster": labels.reindex(cells["cluster"]).to_numpy(dtype=object),
                         "grouping": grouping,
                         "grp": np.asarray(names, dtype=object)[cells["group"].to_numpy()]
                         if len(cells) else [],
                         "set_name": cells["set"].to_numpy(dtype=object),
                         "level": cells["level"].to_numpy(dtype=np.int64),
                         "code": cells["code"].to_numpy(dtype=object),
                         "mm2": cells["mm2"].to_numpy(dtype=np.int64)})


# -- counts -------------------------------------------------------------------------------

def _record_counts(gdf) -> dict[str, Any]:
    """:func:`mineledger.land.summary.record_counts`, and whether any record carries an area
    code (``coded``: its land by area is then computed, not kept)."""
    return {**record_counts(gdf),
            "coded": bool("admin_code" in gdf and gdf["admin_code"].notna().any())}


def compute_counts(writer: FigureReader, country: str, admin_all,
                   previous: dict[str, Any] | None = None,
                   changed: set[str] | None = None) -> dict[str, Any]:
    """The figures of a country other than land, as JSON: its records of hazards and
    outcomes, events and casualties (:func:`mineledger.land.summary.point_figures`), its
    administrative areas. With ``previous`` counts and the layers ``changed`` since, only
    the parts those layers make are counted again (the events and victims are read only when
    they or the areas changed)."""
    level = finest_level(admin_all)
    admin = admin_all[admin_all["level"] == level] if level is not None else admin_all
    again = set(_FIGURE_LAYERS) if previous is None or changed is None else set(changed)
    if "admin_areas" in again:
        again |= {"events", "victims"}
    out = dict(previous or {}, version=COUNTS_VERSION)
    for key, layer in (("hazards", "hazards"), ("cleared", "cleared_areas")):
        if layer in again:
            out[key] = _record_counts(writer.read_records(layer, country=country,
                                                          columns=_COUNTED))
    if again & {"events", "victims"}:
        events = writer.read_records("events", country=country)
        victims = writer.read_records("victims", country=country)
        victim_figures, event_figures = point_figures(events, victims, admin)
        out["victims"], out["events"] = victim_figures.to_dict(), event_figures.to_dict()
    out["admin"] = {"level": level, "areas": int(len(admin)),
                    "levels": {str(int(k)): int(v) for k, v in
                               admin_all["level"].value_counts().sort_index().items()},
                    "names": {str(c): n for c, n in zip(admin["code"], admin["name"])},
                    "names_by_level": {str(int(lv)): {str(c): n for c, n in zip(
                        group["code"], group["name"])} for lv, group in
                        admin_all.groupby("level")} if len(admin_all) else {}}
    return out


# -- keeping them up to date --------------------------------------------------------------

def _whole(writer: Writer, country: str, admin_all) -> None:
    hazards = writer.read_records("hazards", country=country)
    outcomes = writer.read_records("cleared_areas", country=country)
    members, cells = compute_land(hazards, outcomes, admin_all)
    writer.replace_figures(country, None, members, cells)


def _clusters(writer: Writer, country: str, changed: pd.DataFrame, admin_all) -> None:
    """Recompute the clusters the changed land records were in and now meet."""
    uuids = set(changed["uuid"])
    old = writer.figure_members(uuids=uuids)
    affected = set(old.loc[old["country"] == country, "cluster"])
    # an outcome is cut to the hazard it names, which need not meet it: the clusters of the
    # outcomes naming a changed hazard change with it
    named = [r["uuid"] for r in writer.where("cleared_areas", "hazard_uuid",
                                             changed.loc[changed["layer"] == "hazards", "uuid"])]
    if named:
        met = writer.figure_members(uuids=named)
        affected |= set(met.loc[met["country"] == country, "cluster"])
        changed = pd.concat([changed, pd.DataFrame({"layer": "cleared_areas", "uuid": named,
                                                    "country": country})], ignore_index=True)
    now = {layer: usable(writer.read_records(layer, uuids=changed.loc[
        changed["layer"] == layer, "uuid"])) for layer in _LAND}
    now = {k: v[v["country"] == country] for k, v in now.items()}
    boxes = [tuple(b) for v in now.values() for b in v.geometry.bounds.to_numpy()]
    if boxes:
        near = set().union(*(writer.uuids_meeting(layer, country, boxes) for layer in _LAND))
        met = writer.figure_members(uuids=near)
        affected |= set(met.loc[met["country"] == country, "cluster"])
    members = writer.figure_members(country=country, clusters=affected) if affected else \
        pd.DataFrame(columns=["country", "layer", "uuid", "cluster"])
    want = {layer: set(members.loc[members["layer"] == layer, "uuid"]) | set(now[layer]["uuid"])
            for layer in _LAND}
    hazards = writer.read_records("hazards", uuids=want["hazards"])
    outcomes = writer.read_records("cleared_areas", uuids=want["cleared_areas"])
    # outcomes are cut to their hazards: a hazard they name but do not meet is read too, so
    # that the cut is the same as the whole country's; its own cluster is not rewritten
    parents = set(outcomes["hazard_uuid"].dropna()) - want["hazards"] \
        if "hazard_uuid" in outcomes else set()
    if parents:
        hazards = pd.concat([hazards, writer.read_records("hazards", uuids=parents)],
                            ignore_index=True)
    # in the order of the store (fid), as the whole country is read: the same cluster then
    # gives the same land to the last bit
    hazards = hazards[hazards["country"] == country].sort_values("fid", kind="stable")
    outcomes = outcomes[outcomes["country"] == country].sort_values("fid", kind="stable")
    new_members, cells = compute_land(gpd.GeoDataFrame(hazards, geometry="geometry",
                                                       crs="EPSG:4326"), outcomes, admin_all)
    if parents:
        foreign = set(new_members.loc[new_members["uuid"].isin(parents), "cluster"])
        new_members = new_members[~new_members["cluster"].isin(foreign)]
        cells = cells[~cells["cluster"].isin(foreign)]
    writer.replace_figures(country, affected, new_members, cells)


def update(writer: Writer) -> None:
    """Bring the stored figures up to date with every change in the change log, inside the
    writer's transaction (see the module docstring). Countries whose administrative areas
    changed, or with more than :data:`WHOLE_ABOVE` land records changed, are recomputed
    whole; others cluster by cluster."""
    mark = writer.figure_mark()
    last, changed = writer.changed_since(mark)
    if last <= mark:
        return
    for country, rows in changed.groupby("country"):
        _country(writer, str(country), rows)
    writer.set_figure_mark(last)


def _drop(writer: Writer, country: str) -> None:
    writer.replace_figures(country, None, pd.DataFrame(columns=["layer", "uuid", "cluster"]),
                           pd.DataFrame(columns=_CELL_COLUMNS))
    writer.put_figure_counts(country, None)


def _country(writer: Writer, country: str, rows: pd.DataFrame) -> None:
    admin_all = writer.read_records("admin_areas", country=country)
    kept = writer.figure_counts(country)
    has_counts = kept is not None and kept.get("version") == COUNTS_VERSION
    land = rows[rows["layer"].isin(_LAND)]
    if not writer.holds_records(country, _FIGURE_LAYERS):  # nothing of the country is left
        _drop(writer, country)
        return
    if not has_counts or (rows["layer"] == "admin_areas").any() or len(land) > WHOLE_ABOVE:
        _whole(writer, country, admin_all)
    elif len(land):
        _clusters(writer, country, land, admin_all)
    writer.put_figure_counts(country, compute_counts(
        writer, country, admin_all, kept if has_counts else None, set(rows["layer"])))


def rebuild(session: Session, *, user: str | None = None) -> list[str]:
    """Recompute the stored figures of every country whole (``mineledger figures rebuild``);
    returns the countries. Only an admin may.

    Raises
    ------
    PermissionDenied
        The acting user is not an admin.
    """
    session.require(Action.MANAGE)
    countries = session.countries()
    with session.store.writer(user=user or session.user_name, command="figures rebuild") as w:
        for gone in sorted(set(w.figure_countries()) - set(countries)):  # no records left
            _drop(w, gone)
        for country in countries:
            admin_all = w.read_records("admin_areas", country=country)
            _whole(w, country, admin_all)
            w.put_figure_counts(country, compute_counts(w, country, admin_all))
        last, _ = w.changed_since(0)
        w.set_figure_mark(last)
    return countries


@dataclass(frozen=True)
class FiguresCheck:
    """What ``mineledger figures check`` found for one country: the cells and counts
    compared, and each difference (empty: the stored figures equal a full recomputation)."""

    country: str
    cells: int
    differences: list[str]


def _close(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    return a == b


def _differences(stored, fresh, path: str) -> list[str]:
    if isinstance(stored, dict) and isinstance(fresh, dict):
        return [d for k in sorted(set(stored) | set(fresh), key=str)
                for d in _differences(stored.get(k), fresh.get(k), f"{path}.{k}")]
    if isinstance(stored, list) and isinstance(fresh, list) and len(stored) == len(fresh):
        return [d for i, (a, b) in enumerate(zip(stored, fresh))
                for d in _differences(a, b, f"{path}[{i}]")]
    return [] if _close(stored, fresh) else [f"{path}: stored {stored!r}, recomputed {fresh!r}"]


_KEY = ["grouping", "grp", "set_name", "level", "code"]


def check(session: Session) -> list[FiguresCheck]:
    """Compare every country's stored figures with a full recomputation from its records
    (cells to the mm², exactly; counts to 1e-9 relative), in one read transaction; nothing is
    written (a read-only store is checked too). Only an admin may.

    Raises
    ------
    PermissionDenied
        The acting user is not an admin.
    """
    session.require(Action.MANAGE)
    out = []
    countries = session.countries()
    with session.store.figure_reader() as w:
        for gone in sorted(set(w.figure_countries()) - set(countries)):
            out.append(FiguresCheck(gone, 0, [f"figures are stored for {gone}, which has no "
                                              "records"]))
        for country in countries:
            admin_all = w.read_records("admin_areas", country=country)
            _, cells = compute_land(w.read_records("hazards", country=country),
                                    w.read_records("cleared_areas", country=country), admin_all)
            stored = w.stored_figures(country)
            if stored is None:
                out.append(FiguresCheck(country, len(cells), ["the stored figures are behind the "
                                                              "change log or missing"]))
                continue
            fresh = cells.groupby(_KEY)["mm2"].sum()
            kept = stored[0].groupby(_KEY)["mm2"].sum()
            both = pd.concat([kept.rename("stored"), fresh.rename("fresh")], axis=1).fillna(0)
            diffs = [f"cell {'/'.join(map(str, k))}: stored {int(r.stored) / 1e6!r} m², "
                     f"recomputed {int(r.fresh) / 1e6!r} m²" for k, r in both.iterrows()
                     if int(r.stored) != int(r.fresh)]
            summed = w.summed_cells(country).groupby(_KEY)["mm2"].sum()
            diffs += [f"total {'/'.join(map(str, k))}: kept {int(v)} mm², its cells sum to "
                      f"{int(summed.get(k, 0))} mm²" for k, v in kept.items()
                      if int(v) != int(summed.get(k, 0))]
            diffs += _differences(stored[1], compute_counts(w, country, admin_all), "counts")
            out.append(FiguresCheck(country, len(both), diffs))
    return out


def current(session: Session, country: str) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The stored figures of ``country`` (cells, counts), brought up to date first if they
    are behind the change log; None for a view of the past, or where they cannot be brought
    up to date (a store this user may not write)."""
    if session.store.at is not None or session.store.information_as_of is not None or \
            session.store.read_only:
        return None
    stored = session.store.read_figures(country)
    if stored is not None and stored[1].get("version") == COUNTS_VERSION:
        return stored
    try:  # only someone who may change the records brings their figures up to date
        session.require(Action.IMPORT, country=country)
    except PermissionDenied:
        return None
    try:  # never wait behind another writer: compute instead
        with session.store.writer(user=session.user_name, command="figures update",
                                  wait=False) as writer:
            update(writer)
            kept = writer.figure_counts(country)
            if kept is not None and kept.get("version") != COUNTS_VERSION:
                admin_all = writer.read_records("admin_areas", country=country)
                _whole(writer, country, admin_all)
                writer.put_figure_counts(country, compute_counts(writer, country, admin_all))
    except StoreError:
        return None
    stored = session.store.read_figures(country)
    return stored if stored is not None and stored[1].get("version") == COUNTS_VERSION else None


on_commit(update)


def stored_land(session: Session, country: str) -> "StoredLand | None":
    """The figures kept for ``country`` (:func:`current`, read once), or None where they
    cannot stand for the store as it is now."""
    stored = current(session, country)
    return None if stored is None else StoredLand(*stored)


@dataclass(frozen=True)
class StoredLand:
    """The figures of a country as kept: the land's cells summed per key (``cells``) and the
    other figures (``counts``). Gives the ledger by area and by year, its total row, and the
    distinct land of the hazard and outcome records by area, as computed from the records."""

    cells: pd.DataFrame
    counts: dict[str, Any]

    @property
    def level(self) -> int | None:
        """The finest administrative level loaded (None: no areas)."""
        return self.counts["admin"]["level"]

    @property
    def names(self) -> dict[str, str | None]:
        """Names of the areas of the finest level, by code."""
        return self.counts["admin"]["names"]

    def names_of(self, level: int) -> dict[str, str | None] | None:
        """Names of the areas of ``level`` by code; None if none of that level is loaded."""
        return self.counts["admin"]["names_by_level"].get(str(level))

    def coded(self) -> bool:
        """Whether hazard or outcome records carry an area code (which counts before their
        location, so the land by area is computed, not kept)."""
        return bool(self.counts["hazards"]["coded"] or self.counts["cleared"]["coded"])

    def ledger_total(self) -> LandRelease:
        c = self.cells[(self.cells["grouping"] == ALL) & (self.cells["level"] == 0)]
        wide = table(c.rename(columns={"set_name": "set"}), by=("level",))
        return ledger_row(TOTAL, None, wide.loc[0] if 0 in wide.index else {}).totals()

    def ledger_by_admin(self, level: int, names: dict[str, str | None]) -> list[LedgerRow]:
        """The ledger by the areas of ``level``, ``unassigned`` and ``total``: the rows of
        :func:`mineledger.land.landrelease.rows_by_admin`, from the cells."""
        c = self.cells[(self.cells["grouping"] == ALL) & (self.cells["level"] == level)]
        wide = table(c.rename(columns={"set_name": "set"}), by=("code",))
        codes = sorted(k for k in wide.index if k != UNASSIGNED and
                       (wide.loc[k, list(SETS)] > 0).any())
        rows = [_row_of(wide, k, k, names.get(k)) for k in codes]
        rows.append(_row_of(wide, UNASSIGNED, UNASSIGNED, OUTSIDE_AREAS))
        return rows + [_total(rows)]

    def ledger_by_year(self) -> list[LedgerRow]:
        """The ledger by year (of release; remaining land by the hazard's date of
        information; ``unknown`` last) and the total row of all the land, from the cells."""
        c = self.cells[self.cells["grouping"] == YEAR]
        names = sorted(set(c["grp"]), key=lambda k: (k == UNKNOWN, k))
        wide = table(c[c["set_name"] != "records"].rename(columns={"set_name": "set"}),
                     by=("grp",))
        rows = [_row_of(wide, k, k, None, by=YEAR) for k in names]
        whole = self.cells[(self.cells["grouping"] == ALL) & (self.cells["level"] == 0)]
        total = table(whole.rename(columns={"set_name": "set"}), by=("level",))
        return rows + [_row_of(total, 0, TOTAL, None, by=YEAR)]

    def record_rows(self, which: str, level: int | None = None):
        """The distinct land of the records (``hazard_records`` or ``outcome_records``) by
        the areas of ``level`` (default: the finest), and its sum in m²: the rows of
        :func:`mineledger.land.summary.record_land`."""
        level = self.level if level is None else level
        c = self.cells[(self.cells["grouping"] == RECORDS) & (self.cells["set_name"] == which)
                       & (self.cells["level"] == level)]
        rows = land_rows(m2_of(c.groupby("code")["mm2"].sum()), self.names_of(level) or {})
        return rows, math.fsum(r.area_m2 for r in rows)


def count_rows(rows: list[dict]) -> list[CountRow]:
    return [CountRow(**r) for r in rows]
