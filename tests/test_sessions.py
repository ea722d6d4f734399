"""Who acts is a value (a Session), never state on a shared store; and the paged query, pushed
down to each back end, gives what a full read with the same filter gives."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from mineledger import Session, connect, import_source
from mineledger.access.users import put_user
from mineledger.errors import PermissionDenied, QueryError
from mineledger.land.summary import summary
from mineledger.ledger.export import export_layer
from mineledger.ledger.records import query_records

HAZARDS = 'id,org,wkt\nH1,HALO,"POLYGON ((-75.5 6.2, -75.49 6.2, -75.49 6.21, -75.5 6.2))"\n'
PROFILE = ("layer: hazards\ncountry: COL\nkey: [id]\ngeometry: {wkt: wkt, crs: EPSG:4326}\n"
           "fields:\n  local_id: {column: id}\n  organisation: {column: org}\n"
           "  hazard_type: {value: SHA}\n")


def _one_hazard(tmp_path):
    """A CSV of one hazardous area (COL) and its profile: (source path, profile path)."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "h.csv").write_text(HAZARDS, encoding="utf-8")
    (tmp_path / "h.yaml").write_text(PROFILE, encoding="utf-8")
    return tmp_path / "data" / "h.csv", str(tmp_path / "h.yaml")


def test_two_actors_interleaved_on_one_store_each_act_with_their_own_role(store_at, tmp_path):
    source, profile = _one_hazard(tmp_path)
    store = connect(store_at("shared"))
    try:
        first = Session(store, "ada")  # a one-person store: its user is admin
        import_source(first, source, profile)
        put_user(first, "ada", "admin")
        put_user(first, "vera", "viewer")
        ada, vera = Session(store, "ada"), Session(store, "vera")
        for _ in range(2):  # interleaved, twice, on the one store object
            assert summary(vera, "COL")["hazards"]["count"] == 1
            with pytest.raises(PermissionDenied, match=r"vera \(viewer\) may not manage users"):
                put_user(vera, "mallory", "admin")
            assert put_user(ada, "olga", "officer", country="COL")["role"] == "officer"
            with pytest.raises(PermissionDenied, match=r"vera \(viewer\) may not import"):
                import_source(vera, source, profile)
            export_layer(vera, "hazards", "csv", tmp_path / "v.csv", overwrite=True)
            assert str(ada.actor) == "ada (admin)" and str(vera.actor) == "vera (viewer)"
        assert not any("actor" in name or "user" in name for name in vars(store))
        assert set(store.read_table("users")["name"]) == {"ada", "vera", "olga"}
        log = store.read_table("change_log")
        assert set(log.loc[log["layer"] == "users", "user_name"]) == {"ada"}
    finally:
        store.close()


@pytest.fixture(scope="module")
def hazards_and_events(real_store):
    return (real_store.read_layer("hazards", "BIH"), real_store.read_layer("events", "BIH"))


BOX = (17.5, 44.0, 18.5, 44.8)  # central Bosnia


def _intersecting(gdf, box):
    geoms = gdf.geometry.array
    present = ~(gdf.geometry.isna().to_numpy() | shapely.is_empty(geoms))
    hits = present.copy()
    hits[present] = shapely.intersects(geoms[present], shapely.box(*box))
    return gdf[hits]


@pytest.mark.realdata
def test_a_bounding_box_page_matches_a_full_read_with_the_same_filter(real_store,
                                                                      hazards_and_events):
    hazards, events = hazards_and_events
    expected = _intersecting(hazards, BOX)
    assert 1000 < len(expected) < len(hazards)
    page = real_store.query("hazards", country="BIH", bbox=BOX, limit=500)
    assert page.matched == len(expected)
    assert list(page.features["uuid"]) == list(expected["uuid"][:500])
    assert isinstance(page.features, gpd.GeoDataFrame) and page.features.crs == "EPSG:4326"
    rest = real_store.query("hazards", country="BIH", bbox=BOX, limit=10_000, offset=500)
    assert list(rest.features["uuid"]) == list(expected["uuid"][500:])
    wanted = events[events["event_type"] == "mine_incident"]
    page = real_store.query("events", country="BIH", bbox=BOX,
                            filters={"event_type": "mine_incident"}, limit=10_000)
    assert page.matched == len(_intersecting(wanted, BOX)) > 0
    assert set(page.features["event_type"]) == {"mine_incident"}


@pytest.mark.realdata
def test_attribute_filters_and_counts_match_a_full_read(real_store, hazards_and_events):
    hazards, _ = hazards_and_events
    for status in (["open"], ["open", "closed"], ["closed", None], [None]):
        given = [s for s in status if s]
        want = hazards["status"].isin(given) | (hazards["status"].isna() if None in status
                                                else False)
        page = real_store.query("hazards", country="BIH", filters={"status": status}, limit=1)
        assert page.matched == int(want.sum())
    assert real_store.query("hazards", country="BIH", filters={"status": "open"},
                            limit=1).matched == int((hazards["status"] == "open").sum()) > 0
    page = real_store.query("hazards", country="BIH", filters={"geometry_status": "missing"},
                            limit=10_000)
    assert page.matched == int((hazards["geometry_status"] == "missing").sum()) == 3094
    assert page.features.geometry.isna().all()


def test_a_page_the_store_cannot_answer_is_refused_with_one_line(store_at):
    with connect(store_at("q")) as store:
        for kwargs, message in (({"filters": {"nope": 1}}, "no such field"),
                                ({"bbox": (10, 10, 5, 5)}, "bbox"),
                                ({"bbox": ("a", 1, 2, 3)}, "four numbers"),
                                ({"limit": 0}, "limit 0"), ({"offset": -1}, "offset -1")):
            with pytest.raises(QueryError, match=message):
                store.query("hazards", **kwargs)
        with pytest.raises(QueryError, match="layer 'nope'"):
            store.query("nope")


def test_an_operator_pages_only_its_organisation_where_the_country_says_so(store_at, tmp_path):
    (tmp_path / "data").mkdir()
    two = HAZARDS + 'H2,MAG,"POLYGON ((-75.4 6.2, -75.39 6.2, -75.39 6.21, -75.4 6.2))"\n'
    (tmp_path / "data" / "h.csv").write_text(two, encoding="utf-8")
    (tmp_path / "h.yaml").write_text(PROFILE, encoding="utf-8")
    from mineledger.access.users import set_setting

    with connect(store_at("own")) as store:
        admin = Session(store, "ada")
        import_source(admin, tmp_path / "data" / "h.csv", str(tmp_path / "h.yaml"))
        put_user(admin, "ada", "admin")
        put_user(admin, "omar", "operator", country="COL", organisation="HALO")
        omar = Session(store, "omar")
        assert query_records(omar, "hazards").matched == 2
        set_setting(Session(store, "ada"), "operator_reads:COL", "own")
        page = query_records(Session(store, "omar"), "hazards")
        assert page.matched == 1 and list(page.features["organisation"]) == ["HALO"]
        with pytest.raises(PermissionDenied, match="only in COL"):
            query_records(omar, "hazards", country="BIH")


def test_a_session_reading_once_reads_each_layer_once_and_hands_out_copies(store_at, tmp_path):
    source, profile = _one_hazard(tmp_path)
    store = connect(store_at("once"))
    try:
        session = Session(store, "ada")
        import_source(session, source, profile)
        reads = []
        real = store.read_layer
        store.read_layer = lambda *a: reads.append(a) or real(*a)
        view = session.reading_once()
        first = view.read_layer("hazards", "COL")
        first.drop(first.index, inplace=True)  # a caller's change stays its own
        assert len(view.read_layer("hazards", "COL")) == 1
        assert reads == [("hazards", "COL")]
        assert len(session.read_layer("hazards", "COL")) == 1 and len(reads) == 2  # not kept
    finally:
        store.close()
