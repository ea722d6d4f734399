"""The import's bulk encodings write what the one-at-a-time ones wrote (issue 16): the JSON
of the change log and of content hashes, column by column and through one encoder, is the
same text; field values mapped once per distinct cell are the values mapped per row."""

from __future__ import annotations

import datetime as dt
import json

import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from mineledger.ledger.importer import _content_hash, _content_hashes
from mineledger.store.sql import _loggable, _loggable_many
from mineledger.store.types import json_encoder, json_text

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(), st.dates(), st.datetimes(timezones=st.sampled_from([None, dt.timezone.utc,
                                                                   dt.timezone(dt.timedelta(hours=2))])),
    st.binary(max_size=8),
)
documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)),
    max_leaves=12)
FIELDS = ["uuid", "status", "area_m2", "date_of_information", "attributes", "source_geometry",
          "fid", "created_at"]


@settings(max_examples=300, deadline=None)
@given(documents, st.booleans())
def test_json_encoder_writes_what_json_dumps_writes(doc, ascii_only):
    encode = json_encoder(ascii_only)
    try:
        expected = json.dumps(doc, ensure_ascii=ascii_only, sort_keys=True, default=str)
    except (TypeError, ValueError) as exc:  # a type or a circular document: refused alike
        try:
            encode(doc)
        except type(exc):
            return
        raise AssertionError("the encoder accepted what json.dumps refused")
    assert encode(doc) == expected


def test_json_encoder_refuses_a_circular_document_and_goes_on():
    encode = json_encoder(False)
    loop: list = []
    loop.append(loop)
    try:
        encode({"a": loop})
    except ValueError:
        pass
    else:
        raise AssertionError("a circular document was encoded")
    shared = [1]
    assert encode({"a": shared, "b": shared}) == '{"a": [1], "b": [1]}'


records = st.lists(st.fixed_dictionaries({f: documents for f in FIELDS}), min_size=1,
                   max_size=6)


@settings(max_examples=200, deadline=None)
@given(records, st.booleans())
def test_loggable_many_is_loggable_of_each(rows, shuffle_one):
    if shuffle_one:  # a row naming the fields in another order
        rows[0] = dict(reversed(list(rows[0].items())))
    geom = shapely.box(0, 0, 1, 1)
    for r in rows:
        r["geom"] = geom
    iso: dict = {}
    assert [json_text(d) for d in _loggable_many(rows, iso)] == \
        [json_text(_loggable(r)) for r in rows]


@settings(max_examples=200, deadline=None)
@given(records, st.booleans())
def test_content_hashes_are_content_hash_of_each(rows, one_differs):
    geom = shapely.box(0, 0, 1, 1)
    for r in rows:
        r["geom"] = geom
        r["source_checksum"] = "x"
    if one_differs:  # a record naming another set of fields: each hashed alone
        rows[-1] = {**rows[-1], "personal": "fingerprint"}
    hexes = [shapely.to_wkb(geom, hex=True, output_dimension=2)] * len(rows)
    assert _content_hashes(rows, hexes, "source_checksum") == [
        _content_hash({k: v for k, v in r.items() if k != "source_checksum"}, {"geom": h})
        for r, h in zip(rows, hexes)]



cells = st.sampled_from(["2021-03-04", " 2021-03-04 ", "2021-02-30", "04/03/2021", "", "open",
                         "closed", "worked_on", "SHA", "CHA", "nonsense", "HALO", "MAG",
                         "na\x00me", "Cafe\u0301"])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(cells, cells, cells, cells), min_size=1, max_size=40))
def test_mapping_remembered_cells_gives_what_each_row_gives(rows):
    """A field rule maps a text cell from memory once it has met it: values and refusals
    (with their messages) are those of mapping each row afresh."""
    from pathlib import Path

    from mineledger.io.profiles import load_profile
    from mineledger.io.readers import SourceRow
    from mineledger.ledger.importer import _Mapper

    profile = load_profile(Path(__file__).resolve().parent.parent / "benchmarks" / "profiles"
                           / "hazards.yaml")
    remembering = _Mapper(profile, "f.gpkg", "sum", None)
    for i, (kind, status, date, org) in enumerate(rows):
        props = {"hazard_id": f"H{i}", "hazard_type": kind, "status": status,
                 "date_of_information": date, "organisation": org}
        fresh = _Mapper(profile, "f.gpkg", "sum", None)
        row = SourceRow(i + 1, dict(props), shapely.box(17, 44, 17.001, 44.001), True)
        again = SourceRow(i + 1, dict(props), row.geometry, True)
        got, expected = remembering.map(row), fresh.map(again)
        assert got[1] == expected[1]
        if expected[0] is None:
            assert got[0] is None
        else:
            assert {k: v for k, v in got[0].items() if k != "geom"} == \
                {k: v for k, v in expected[0].items() if k != "geom"}
