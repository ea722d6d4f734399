"""Completion reports: links, lineage, the hazard life cycle and the date-of-information rule,
imported through the documented layout (CSV and GeoPackage)."""

from __future__ import annotations

import csv

import geopandas as gpd
import pyogrio
import pytest
import shapely

from mineledger import import_source, open_store
from mineledger.model.rules import TransitionError, check_transition
from mineledger.land.landrelease import ledger
from tests.test_geo import metric_square

SQ = metric_square(17.0, 44.0, 100.0)
WEST = shapely.box(SQ.bounds[0], SQ.bounds[1], (SQ.bounds[0] + SQ.bounds[2]) / 2, SQ.bounds[3])
EAST = shapely.box((SQ.bounds[0] + SQ.bounds[2]) / 2, SQ.bounds[1], SQ.bounds[2], SQ.bounds[3])
FAR = shapely.affinity.translate(SQ, xoff=0.01)

HAZARD_COLS = ["country", "hazard_id", "hazard_type", "status", "evidence", "eo_categories",
               "organisation", "date_of_information", "parent_ids", "wkt"]
ACTIVITY_COLS = ["country", "activity_id", "hazard_id", "activity_type", "report_type",
                 "organisation", "method", "assets", "start_date", "end_date", "evidence",
                 "eo_categories", "cancelled_m2", "reduced_m2", "cleared_m2", "released_m2",
                 "lon", "lat"]
OUTCOME_COLS = ["country", "outcome_id", "hazard_id", "activity_id", "activity_type", "outcome",
                "date_released", "clearance_depth_m", "eo_categories", "organisation", "wkt"]
DEVICE_COLS = ["country", "device_id", "activity_id", "hazard_id", "eo_category", "model",
               "condition", "depth_m", "fate", "quantity", "found_date", "lon", "lat"]


def write(folder, name, columns, rows):
    folder.mkdir(exist_ok=True)
    (folder / "SOURCES.md").write_text("test\n")
    path = folder / name
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})
    return path


def hazard(hid, geom=SQ, status="open", doi="2023-01-01", **kw):
    return {"country": "XKX", "hazard_id": hid, "hazard_type": kw.pop("hazard_type", "SHA"),
            "status": status, "date_of_information": doi, "wkt": geom.wkt, "organisation": "NMAA", **kw}


def activity(aid, hid, report, end, **kw):
    return {"country": "XKX", "activity_id": aid, "hazard_id": hid, "activity_type": kw.pop("type", "TS"),
            "report_type": report, "organisation": "OpA", "end_date": end, "lon": 17.0005,
            "lat": 44.0005, **kw}


def outcome(oid, hid, kind, geom, date="2023-05-01"):
    return {"country": "XKX", "outcome_id": oid, "hazard_id": hid, "outcome": kind,
            "date_released": date, "wkt": geom.wkt, "organisation": "OpA", "activity_type": "clearance"}


@pytest.fixture
def store(store_at, tmp_path):
    with open_store(store_at("t")) as s:
        yield s


def status_of(store, hid):
    hz = store.read_layer("hazards").set_index("local_id")
    return hz.loc[hid, "status"], hz.loc[hid, "hazard_type"], hz.loc[hid, "date_of_information"]


def test_progress_with_direct_evidence_makes_a_worked_on_cha(store, tmp_path):
    d = tmp_path / "rep"
    import_source(store, write(d, "hazards.csv", HAZARD_COLS, [hazard("HZ-1")]), "completion-hazards")
    import_source(store, write(d, "activities.csv", ACTIVITY_COLS,
                               [activity("A-1", "HZ-1", "progress", "2023-03-01", evidence="direct")]),
                  "completion-activities")
    status, htype, doi = status_of(store, "HZ-1")
    assert (status, htype, str(doi)) == ("worked_on", "CHA", "2023-03-01")
    acts = store.read_layer("activities")
    assert acts.hazard_uuid[0] == store.read_layer("hazards").uuid[0]
    log = store.read_table("change_log")
    update = log[(log.layer == "hazards") & (log.action == "update")].iloc[0]
    assert "progress report A-1 of 2023-03-01" in update.reason
    assert update.before["status"] == "open" and update.after["status"] == "worked_on"


def test_earlier_report_enters_history_only(store, tmp_path):
    d = tmp_path / "rep"
    import_source(store, write(d, "hazards.csv", HAZARD_COLS, [hazard("HZ-1", doi="2023-06-01")]),
                  "completion-hazards")
    report = import_source(store, write(d, "activities.csv", ACTIVITY_COLS,
                                        [activity("A-0", "HZ-1", "completion", "2023-02-01")]),
                           "completion-activities")
    assert report.total("inserted") == 1  # the report is kept …
    assert status_of(store, "HZ-1")[0] == "open"  # … but does not change the summary
    assert str(status_of(store, "HZ-1")[2]) == "2023-06-01"


def test_refused_transition_goes_to_quarantine_with_the_reason(store, tmp_path):
    d = tmp_path / "rep"
    import_source(store, write(d, "hazards.csv", HAZARD_COLS, [hazard("HZ-2")]), "completion-hazards")
    report = import_source(store, write(d, "activities.csv", ACTIVITY_COLS,
                                        [activity("A-3", "HZ-2", "handover", "2023-04-01")]),
                           "completion-activities")
    assert (report.total("inserted"), report.total("quarantined")) == (0, 1)
    q = store.read_table("quarantine").iloc[0]
    assert "hazard HZ-2: cannot go from open to handed_over" in q.reason
    assert status_of(store, "HZ-2")[0] == "open"


def test_completion_closes_once_the_land_is_released_then_handover(store, tmp_path):
    d = tmp_path / "rep"
    import_source(store, write(d, "hazards.csv", HAZARD_COLS, [hazard("HZ-1")]), "completion-hazards")
    report = import_source(store, write(d, "activities.csv", ACTIVITY_COLS, [
        activity("A-1", "HZ-1", "completion", "2023-05-01", type="Clearance")]), "completion-activities")
    assert status_of(store, "HZ-1")[0] == "worked_on"  # nothing released yet: not closed
    assert any("10,000 m² not yet released" in n for n in report.files[0].notes)
    import_source(store, write(d, "outcomes.csv", OUTCOME_COLS,
                               [outcome("O-1", "HZ-1", "cleared", SQ.buffer(1e-6))]), "completion-outcomes")
    assert status_of(store, "HZ-1")[0] == "closed"
    import_source(store, write(d, "handover.csv", ACTIVITY_COLS, [
        activity("A-2", "HZ-1", "handover", "2023-07-01", type="Clearance")]), "completion-activities")
    assert status_of(store, "HZ-1")[0] == "handed_over"


def test_same_day_reports_apply_in_life_cycle_order(store, tmp_path):
    d = tmp_path / "rep"
    import_source(store, write(d, "hazards.csv", HAZARD_COLS, [hazard("HZ-1")]), "completion-hazards")
    import_source(store, write(d, "outcomes.csv", OUTCOME_COLS,
                               [outcome("O-1", "HZ-1", "cleared", WEST)]), "completion-outcomes")
    import_source(store, write(d, "activities.csv", ACTIVITY_COLS, [
        activity("A-2", "HZ-1", "completion", "2023-05-01"),
        activity("A-1", "HZ-1", "progress", "2023-05-01")]), "completion-activities")
    log = store.read_table("change_log")
    reasons = [r for r in log.reason if r and "report" in r]
    assert reasons[0].startswith("progress report A-1")


def test_reimporting_a_corrected_hazard_keeps_its_life_cycle(store, tmp_path):
    d = tmp_path / "rep"
    path = write(d, "hazards.csv", HAZARD_COLS, [hazard("HZ-1")])
    import_source(store, path, "completion-hazards")
    import_source(store, write(d, "activities.csv", ACTIVITY_COLS,
                               [activity("A-1", "HZ-1", "progress", "2023-03-01", evidence="direct")]),
                  "completion-activities")
    write(d, "hazards.csv", HAZARD_COLS, [hazard("HZ-1", organisation="NMAA2")])  # same date
    report = import_source(store, path, "completion-hazards")
    assert report.total("updated") == 1
    status, htype, doi = status_of(store, "HZ-1")
    assert (status, htype, str(doi)) == ("worked_on", "CHA", "2023-03-01")
    assert store.read_layer("hazards").organisation[0] == "NMAA2"
    again = import_source(store, path, "completion-hazards")
    assert again.total("unchanged") == 1


def test_files_mixing_linked_and_unlinked_rows(store, tmp_path):
    d = tmp_path / "rep"
    import_source(store, write(d, "hazards.csv", HAZARD_COLS, [hazard("HZ-1")]), "completion-hazards")
    for order in ([outcome("O-1", "HZ-1", "cleared", WEST), outcome("O-2", "", "cleared", FAR)],
                  [outcome("O-3", "", "cleared", FAR), outcome("O-4", "HZ-1", "cleared", EAST)]):
        import_source(store, write(d, f"{order[0]['outcome_id']}.csv", OUTCOME_COLS, order),
                      "completion-outcomes")
    linked = store.read_layer("cleared_areas").set_index("local_id").hazard_uuid
    assert linked["O-1"] and linked["O-4"] and linked["O-2"] is None and linked["O-3"] is None
    assert status_of(store, "HZ-1")[0] == "closed"


def test_groupings_clip_against_every_hazard(store, tmp_path):
    d = tmp_path / "rep"
    import_source(store, write(d, "hazards.csv", HAZARD_COLS, [hazard("HZ-1")]), "completion-hazards")
    big = metric_square(17.0, 44.0, 200.0)
    import_source(store, write(d, "outcomes.csv", OUTCOME_COLS, [outcome("O-1", "HZ-1", "cleared", big)]),
                  "completion-outcomes")
    rows = {r.area_code: r for r in ledger(store, "XKX", "organisation")}
    assert rows["OpA"]["cleared_m2"] == pytest.approx(rows["total"]["cleared_m2"]) == pytest.approx(10_000, rel=1e-3)
    assert rows["NMAA"]["remaining_m2"] == rows["total"]["remaining_m2"] == 0.0


def test_a_progress_report_does_not_bring_cleared_land_back(store, tmp_path):
    d = tmp_path / "rep"
    import_source(store, write(d, "hazards.csv", HAZARD_COLS, [hazard("HZ-1")]), "completion-hazards")
    import_source(store, write(d, "outcomes.csv", OUTCOME_COLS, [outcome("O-1", "HZ-1", "cleared", WEST)]),
                  "completion-outcomes")
    import_source(store, write(d, "activities.csv", ACTIVITY_COLS,
                               [activity("A-1", "HZ-1", "progress", "2023-06-01")]), "completion-activities")
    total = ledger(store, "XKX", "organisation")[-1]
    assert total["remaining_m2"] == pytest.approx(5_000, rel=2e-3)
    assert total["recorded_m2"] == pytest.approx(10_000, rel=2e-3)


@pytest.mark.parametrize("rows,message", [
    ([hazard("S1", parent_ids="S1")], "new in this same import"),
    ([hazard("CA", parent_ids="CB"), hazard("CB", FAR, parent_ids="CA")], "new in this same import"),
])
def test_self_and_circular_parents_supersede_nothing(store, tmp_path, rows, message):
    report = import_source(store, write(tmp_path / "rep", "h.csv", HAZARD_COLS, rows), "completion-hazards")
    assert any(message in n for n in report.files[0].notes)
    assert set(store.read_layer("hazards").status) == {"open"}


def test_an_older_split_does_not_supersede_a_newer_parent(store, tmp_path):
    d = tmp_path / "rep"
    import_source(store, write(d, "h.csv", HAZARD_COLS, [hazard("PO", doi="2024-01-01")]), "completion-hazards")
    report = import_source(store, write(d, "s.csv", HAZARD_COLS,
                                        [hazard("PO1", WEST, doi="2022-01-01", parent_ids="PO")]),
                           "completion-hazards")
    assert status_of(store, "PO")[0] == "open"
    assert any("not later than its parent PO" in n for n in report.files[0].notes)


def test_splitting_a_closed_hazard_is_a_note_not_a_failure(store, tmp_path):
    d = tmp_path / "rep"
    import_source(store, write(d, "h.csv", HAZARD_COLS, [hazard("PC", status="closed")]), "completion-hazards")
    report = import_source(store, write(d, "s.csv", HAZARD_COLS, [
        hazard("PC1", WEST, doi="2024-01-01", parent_ids="PC"), hazard("OK1", FAR)]), "completion-hazards")
    assert report.total("inserted") == 2
    assert any("cannot go from closed to superseded" in n for n in report.files[0].notes)


def test_release_of_the_whole_hazard_closes_it(store, tmp_path):
    d = tmp_path / "rep"
    import_source(store, write(d, "hazards.csv", HAZARD_COLS, [hazard("HZ-1")]), "completion-hazards")
    import_source(store, write(d, "outcomes.csv", OUTCOME_COLS,
                               [outcome("O-1", "HZ-1", "cleared", WEST)]), "completion-outcomes")
    assert status_of(store, "HZ-1")[0] == "worked_on"
    import_source(store, write(d, "outcomes2.csv", OUTCOME_COLS,
                               [outcome("O-2", "HZ-1", "reduced", EAST.buffer(1e-5))]), "completion-outcomes")
    assert status_of(store, "HZ-1")[0] == "closed"
    rows = {r.area_code: r for r in ledger(store, "XKX", "organisation")}
    total = rows["total"]
    assert total["remaining_m2"] == 0.0
    assert total["cleared_m2"] == pytest.approx(5_000, rel=2e-3)
    assert total["reduced_m2"] == pytest.approx(5_000, rel=2e-3)  # the overreach is cut off
    flags = store.read_layer("cleared_areas").set_index("local_id")
    assert flags.loc["O-2", "hazard_uuid"] == store.read_layer("hazards").uuid[0]
    assert (flags.loc["O-1", "outside_hazard"], flags.loc["O-2", "outside_hazard"]) == (False, True)
    by_hazard = ledger(store, "XKX", "hazard")
    assert [r.area_name for r in by_hazard] == ["HZ-1", None]
    assert by_hazard[0]["released_m2"] == pytest.approx(10_000, rel=2e-3)
    assert by_hazard[0]["remaining_m2"] == 0.0


def test_unknown_hazard_id_is_kept_unlinked_with_a_note(store, tmp_path):
    d = tmp_path / "rep"
    report = import_source(store, write(d, "outcomes.csv", OUTCOME_COLS,
                                        [outcome("O-9", "HZ-404", "cleared", FAR)]), "completion-outcomes")
    assert report.total("inserted") == 1
    assert any("HZ-404" in n for n in report.files[0].notes)
    assert store.read_layer("cleared_areas").hazard_uuid[0] is None
    rows = ledger(store, "XKX", "hazard")
    assert [r.area_code for r in rows] == ["unknown", "total"]  # released with no known hazard
    assert rows[0]["cleared_m2"] == pytest.approx(10_000, rel=1e-3)


def test_split_supersedes_the_parent_and_is_not_counted_twice(store, tmp_path):
    d = tmp_path / "rep"
    import_source(store, write(d, "hazards.csv", HAZARD_COLS, [hazard("HZ-1")]), "completion-hazards")
    import_source(store, write(d, "survey.csv", HAZARD_COLS, [
        hazard("HZ-1a", WEST, doi="2023-04-01", parent_ids="HZ-1"),
        hazard("HZ-1b", EAST, doi="2023-04-01", parent_ids="HZ-1")]), "completion-hazards")
    assert status_of(store, "HZ-1")[0] == "superseded"
    lineage = store.read_table("hazard_lineage")
    assert sorted(lineage.kind) == ["split", "split"] and lineage.parent_uuid.nunique() == 1
    total = ledger(store, "XKX", "organisation")[-1]
    assert total["remaining_m2"] == pytest.approx(10_000, rel=2e-3)  # not 20,000


def test_devices_link_to_their_activity(store, tmp_path):
    d = tmp_path / "rep"
    import_source(store, write(d, "hazards.csv", HAZARD_COLS, [hazard("HZ-1")]), "completion-hazards")
    import_source(store, write(d, "activities.csv", ACTIVITY_COLS,
                               [activity("A-1", "HZ-1", "progress", "2023-03-01")]), "completion-activities")
    import_source(store, write(d, "devices.csv", DEVICE_COLS, [
        {"country": "XKX", "device_id": "D-1", "activity_id": "A-1", "hazard_id": "HZ-1",
         "eo_category": "AP", "model": "PMA-2", "depth_m": "0.05", "fate": "destroyed_in_situ",
         "quantity": "1", "found_date": "2023-02-20", "lon": "17.0004", "lat": "44.0004"}]),
        "completion-devices")
    dev = store.read_layer("devices").iloc[0]
    assert (dev.eo_category, dev.model, dev.depth_m, dev.fate) == ("ap_mine", "PMA-2", 0.05, "destroyed_in_situ")
    assert dev.activity_uuid == store.read_layer("activities").uuid[0]


def test_the_same_report_as_a_geopackage(store, tmp_path):
    gpkg = tmp_path / "report.gpkg"
    def layer(columns, row, geom):
        return gpd.GeoDataFrame([{c: row.get(c, "") for c in columns if c != "wkt"}],
                                geometry=[geom], crs=4326)

    hz = layer(HAZARD_COLS, hazard("HZ-1"), SQ)
    oc = layer(OUTCOME_COLS, outcome("O-1", "HZ-1", "cleared", WEST), WEST)
    pyogrio.write_dataframe(hz, gpkg, layer="hazards")
    pyogrio.write_dataframe(oc, gpkg, layer="outcomes")
    import_source(store, gpkg, "completion-hazards")
    import_source(store, gpkg, "completion-outcomes")
    assert status_of(store, "HZ-1")[0] == "worked_on"
    total = ledger(store, "XKX", "organisation")[-1]
    assert total["cleared_m2"] == pytest.approx(5_000, rel=2e-3)


@pytest.mark.parametrize("current,new,record,message", [
    ("open", "handed_over", "completion", "allowed: closed, superseded, worked_on"),
    ("worked_on", "handed_over", "handover", "allowed: closed, superseded"),
    ("closed", "handed_over", "progress", "needs a completion or handover record"),
    ("superseded", "open", None, r"allowed: none \(final\)"),
    ("handed_over", "worked_on", None, "allowed: open"),
])
def test_refused_transitions(current, new, record, message):
    with pytest.raises(TransitionError, match=message):
        check_transition(current, new, record=record)


def test_closing_with_land_remaining_is_refused():
    with pytest.raises(TransitionError, match="cannot close with 1,250 m² remaining"):
        check_transition("worked_on", "closed", remaining_m2=1250.0)
    assert check_transition("worked_on", "closed", remaining_m2=0.0) == "closed"


def test_by_category_counts_a_record_in_each_of_its_categories(store, tmp_path):
    d = tmp_path / "rep"
    import_source(store, write(d, "hazards.csv", HAZARD_COLS, [hazard("HZ-1", eo_categories="ap_mine,at_mine")]),
                  "completion-hazards")
    o = outcome("O-1", "HZ-1", "cleared", WEST)
    o["eo_categories"] = "ap_mine,at_mine"
    import_source(store, write(d, "outcomes.csv", OUTCOME_COLS, [o]), "completion-outcomes")
    rows = {r.area_code: r for r in ledger(store, "XKX", "category")}
    assert set(rows) == {"ap_mine", "at_mine", "total"}
    for key in ("ap_mine", "at_mine", "total"):
        assert rows[key]["cleared_m2"] == pytest.approx(5_000, rel=2e-3)
        assert rows[key]["remaining_m2"] == pytest.approx(5_000, rel=2e-3)
