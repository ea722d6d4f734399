"""Coordinates as field data writes them (mineledger.geo.coords).

Expected values are computed independently of the code under test: DMS by arithmetic,
UTM on the central meridian from the meridian-arc series, MGRS from the grid-letter scheme,
and off-meridian UTM by round trip through the mgrs package's own (GeoTrans) projection.
"""

from __future__ import annotations

import math
import pickle

import mgrs
import pytest

from mineledger.errors import MineledgerError
from mineledger.geo.coords import (
    CoordinateError,
    parse_angle,
    parse_decimal,
    parse_geopoint,
    parse_geoshape,
    parse_geotrace,
    parse_mgrs,
    parse_point,
    parse_utm,
    utm_to_lonlat,
)

LAT_DMS = 4 + 35 / 60 + 12.3 / 3600  # 4°35'12.3"N = 4.586750
LON_DMS = -(74 + 4 / 60 + 33 / 3600)  # 74°04'33"W = -74.075833


def approx(value, abs=1e-9):
    return pytest.approx(value, abs=abs)


def meridian_northing(lat_deg: float) -> float:
    """UTM northing on the central meridian: k0 times the WGS 84 meridian arc (series)."""
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    e4, e6 = e2 * e2, e2 * e2 * e2
    p = math.radians(lat_deg)
    arc = a * ((1 - e2 / 4 - 3 * e4 / 64 - 5 * e6 / 256) * p
               - (3 * e2 / 8 + 3 * e4 / 32 + 45 * e6 / 1024) * math.sin(2 * p)
               + (15 * e4 / 256 + 45 * e6 / 1024) * math.sin(4 * p)
               - (35 * e6 / 3072) * math.sin(6 * p))
    return 0.9996 * arc


# --------------------------------------------------------------------------- the error type

def test_error_is_value_error_and_mineledger_error_and_pickles():
    exc = CoordinateError("4°75'N", "minutes must be below 60")
    assert isinstance(exc, ValueError) and isinstance(exc, MineledgerError)
    assert str(exc) == "got '4°75'N': minutes must be below 60"
    assert str(pickle.loads(pickle.dumps(exc))) == str(exc)


def test_error_shortens_long_text():
    message = str(CoordinateError("1 " * 500, "too long"))
    assert len(message) < 200 and "…" in message


# --------------------------------------------------------------------------- parse_decimal

@pytest.mark.parametrize("text, decimal, expected", [
    ("4.61", ".", 4.61),
    (" 4.6 ", ".", 4.6),
    ("-74,08", ",", -74.08),
    ("+3", ".", 3.0),
    ("\u221274.08", ".", -74.08),  # typographic minus
    (4.61, ".", 4.61),
    (7, ".", 7.0),
])
def test_parse_decimal(text, decimal, expected):
    assert parse_decimal(text, decimal=decimal) == expected


@pytest.mark.parametrize("text, message", [
    ("", "the text is empty"),
    ("abc", "expected a number such as 4.61"),
    ("1.2.3", "expected a number such as 4.61"),
    ("nan", "expected a finite number"),
    (float("nan"), "expected a finite number"),
    (float("inf"), "expected a finite number"),
    ("4,61", "pass decimal=','"),
    (True, "not a boolean"),
    (None, "not NoneType"),
])
def test_parse_decimal_errors(text, message):
    with pytest.raises(CoordinateError, match="got '") as info:
        parse_decimal(text)
    assert message in str(info.value)


def test_parse_decimal_point_refused_with_decimal_comma():
    with pytest.raises(CoordinateError, match="decimal comma"):
        parse_decimal("4.61", decimal=",")


# --------------------------------------------------------------------------- parse_angle

@pytest.mark.parametrize("text, axis, expected", [
    ("4.61", "lat", 4.61),
    ("4°35'12.3\"N", "lat", LAT_DMS),
    ("4° 35' 12.3\" N", "lat", LAT_DMS),
    ("N 4 35 12.3", "lat", LAT_DMS),
    ("N4°35.205'", "lat", 4 + 35.205 / 60),
    ("-74 04 33", "lon", LON_DMS),
    ("74°4'33\"W", "lon", LON_DMS),
    ("74:04:33W", "lon", LON_DMS),
    ("4\u00b035\u203212.3\u2033N", "lat", LAT_DMS),  # prime and double prime
    ("4\u00b035\u201912.3\u201dN", "lat", LAT_DMS),  # curly quotes
    ("4\u00ba35'12.3\"N", "lat", LAT_DMS),  # masculine ordinal for degrees
    ("4°35'12.3''N", "lat", LAT_DMS),  # two single quotes for seconds
    ("74°04'33\"O", "lon", LON_DMS),  # Spanish oeste
    ("4°35'12.3\"n", "lat", LAT_DMS),
    ("74 04 33 w", "lon", LON_DMS),
    ("4°35'12,3\"S", "lat", -LAT_DMS),
    ("-4 S", "lat", -4.0),  # sign and letter agree
    ("-0 30 00", "lat", -0.5),  # the sign belongs to the whole angle
    ("4\u00c2\u00b035'12.3\"N", "lat", LAT_DMS),  # UTF-8 degree sign read as Latin-1
    ("180", "lon", 180.0),
    (-90, "lat", -90.0),
])
def test_parse_angle(text, axis, expected):
    decimal = "," if "12,3" in str(text) else "."
    assert parse_angle(text, axis=axis, decimal=decimal) == approx(expected)


def test_parse_angle_decimal_comma_degrees():
    assert parse_angle("-74,08", axis="lon", decimal=",") == -74.08


@pytest.mark.parametrize("text, axis, message", [
    ("4°75'N", "lat", "got '4°75'N': minutes must be below 60"),
    ("4°35'60\"N", "lat", "seconds must be below 60"),
    ("91", "lat", "a latitude must be between -90 and 90 degrees"),
    ("90 30", "lat", "a latitude must be between -90 and 90 degrees"),
    ("181°W", "lon", "a longitude must be between -180 and 180 degrees"),
    ("4 35 N", "lon", "'N' is a hemisphere letter of a latitude; a longitude takes E, W or O"),
    ("74 W", "lat", "'W' is a hemisphere letter of a longitude; a latitude takes N or S"),
    ("74 O", "lat", "'O' is a hemisphere letter of a longitude"),
    ("-4 N", "lat", "the sign '-' contradicts the hemisphere letter 'N'"),
    ("abc", "lat", "expected decimal degrees"),
    ("", "lat", "expected decimal degrees"),
    ("4.5 30", "lat", "degrees must be whole when minutes follow"),
    ("4 30.5 10", "lat", "minutes must be whole when seconds follow"),
    ("35'12\"", "lat", "a minutes mark after the degrees"),
    ("4 35 12 1", "lat", "at most degrees, minutes and seconds, got 4 numbers"),
    ("N 4 S", "lat", "expected one hemisphere letter"),
    ("4°35'12,3\"N", "lat", "pass decimal=','"),
])
def test_parse_angle_errors(text, axis, message):
    with pytest.raises(CoordinateError) as info:
        parse_angle(text, axis=axis)
    assert message in str(info.value)
    assert str(info.value).startswith(f"got '{text}'")


def test_parse_angle_rejects_bad_axis():
    with pytest.raises(ValueError, match="axis"):
        parse_angle("4", axis="x")


# --------------------------------------------------------------------------- parse_point

@pytest.mark.parametrize("text, kwargs, expected", [
    ("4.61 -74.08", {}, (-74.08, 4.61)),
    ("4.61,-74.08", {}, (-74.08, 4.61)),
    ("4.61, -74.08", {}, (-74.08, 4.61)),
    ("4,61 -74,08", {"decimal": ","}, (-74.08, 4.61)),
    ("4,61; -74,08", {"decimal": ","}, (-74.08, 4.61)),
    ("-74.08 4.61", {"order": "lonlat"}, (-74.08, 4.61)),
    ("4°35'12.3\"N 74°04'33\"W", {}, (LON_DMS, LAT_DMS)),
    ("4°35'12.3\"N74°04'33\"W", {}, (LON_DMS, LAT_DMS)),  # no space between
    ("4° 35' 12.3\" N, 74° 04' 33\" W", {}, (LON_DMS, LAT_DMS)),
    ("4 35 12.3 N 74 04 33 W", {}, (LON_DMS, LAT_DMS)),
    ("N 4 35 12.3 W 74 4 33", {}, (LON_DMS, LAT_DMS)),
    ("4 35 12.3 -74 04 33", {}, (LON_DMS, LAT_DMS)),  # split found by reading
    ("4°35'12.3\" -74°04'33\"", {}, (LON_DMS, LAT_DMS)),
])
def test_parse_point(text, kwargs, expected):
    lon, lat = parse_point(text, **kwargs)
    assert (lon, lat) == (approx(expected[0]), approx(expected[1]))


def test_parse_point_letters_override_order():
    # lon first in the text, order says latlon: the letters decide
    assert parse_point("74°04'33\"W 4°35'12.3\"N") == (approx(LON_DMS), approx(LAT_DMS))
    assert parse_point("4 N, 74 W", order="lonlat") == (-74.0, 4.0)
    # one letter is enough to decide both
    assert parse_point("-74.08 4.61N") == (-74.08, 4.61)


@pytest.mark.parametrize("text, kwargs, message", [
    ("4.61", {}, "expected two coordinates, found one"),
    ("", {}, "the text is empty"),
    ("4.61,-74.08,1", {}, "expected exactly two coordinates separated by ',', got 3 parts"),
    ("4.61 -74.08 100", {}, "does not read as two coordinates"),
    ("4.61 200", {}, "the second coordinate (longitude) '200': a longitude must be between"),
    ("-120.5 4.61", {}, "the first coordinate (latitude) '-120.5': a latitude must be between"),
    ("4 N 5 S", {}, "both coordinates carry latitude hemisphere letters"),
    ("4 5 6 7", {}, "cannot tell where the first coordinate ends"),
    ("4°75'N 74°W", {}, "the first coordinate (latitude) '4°75' N': minutes must be below 60"),
    ("4,61 -74,08", {}, "pass decimal=','"),
])
def test_parse_point_errors(text, kwargs, message):
    with pytest.raises(CoordinateError) as info:
        parse_point(text, **kwargs)
    assert str(info.value).startswith(f"got '{text}'")
    assert message in str(info.value)


# --------------------------------------------------------------------------- ODK

def test_parse_geopoint_four_parts():
    assert parse_geopoint("4.61 -74.08 2600.5 4.9") == (-74.08, 4.61, 2600.5, 4.9)


def test_parse_geopoint_two_parts():
    assert parse_geopoint(" 4.61 -74.08 ") == (-74.08, 4.61, None, None)


@pytest.mark.parametrize("text, message", [
    ("4.61", "got 1 number"),
    ("1 2 3 4 5", "got 5 numbers"),
    ("4.61 abc 0 0", "the longitude 'abc'"),
    ("95 10 0 0", "a latitude must be between -90 and 90"),
    ("4.61 -74.08 0 -1", "the accuracy must not be negative"),
])
def test_parse_geopoint_errors(text, message):
    with pytest.raises(CoordinateError) as info:
        parse_geopoint(text)
    assert message in str(info.value)


SQUARE = [(-74.1, 4.6), (-74.0, 4.6), (-74.0, 4.7), (-74.1, 4.7), (-74.1, 4.6)]  # lon, lat


def test_geoshape_closed_plain():
    shape = parse_geoshape("4.6 -74.1 0 0;4.6 -74.0 0 0;4.7 -74.0 0 0;4.7 -74.1 0 0;"
                           "4.6 -74.1 0 0")
    assert list(shape.exterior.coords) == SQUARE
    assert not shape.has_z


def test_geoshape_space_after_semicolon():
    shape = parse_geoshape("4.6 -74.1 2600 3; 4.6 -74.0 2600 3; 4.7 -74.0 2600 3; "
                           "4.7 -74.1 2600 3; 4.6 -74.1 2600 3")
    assert list(shape.exterior.coords) == SQUARE


def test_geoshape_trailing_semicolon():
    shape = parse_geoshape("4.6 -74.1 0 0;4.6 -74.0 0 0;4.7 -74.0 0 0;4.7 -74.1 0 0;"
                           "4.6 -74.1 0 0;")
    assert list(shape.exterior.coords) == SQUARE


def test_geoshape_repeated_vertices_dropped():
    shape = parse_geoshape("4.6 -74.1 0 0;4.6 -74.0 0 0;4.6 -74.0 0 0;4.6 -74.0 5 9;"
                           "4.7 -74.0 0 0;4.7 -74.1 0 0;4.6 -74.1 0 0")
    assert list(shape.exterior.coords) == SQUARE
    assert len(shape.exterior.coords) == 5


def test_geoshape_not_closed_is_closed():
    shape = parse_geoshape("4.6 -74.1 0 0;4.6 -74.0 0 0;4.7 -74.0 0 0;4.7 -74.1 0 0")
    assert list(shape.exterior.coords) == SQUARE


def test_geoshape_lon_is_x():
    shape = parse_geoshape("4.6 -74.1 0 0;4.6 -74.0 0 0;4.7 -74.0 0 0")
    minx, miny, maxx, maxy = shape.bounds
    assert (minx, maxx) == (-74.1, -74.0) and (miny, maxy) == (4.6, 4.7)


def test_geoshape_too_few_distinct_vertices():
    with pytest.raises(CoordinateError, match="at least 3 distinct vertices, got 2"):
        parse_geoshape("4.6 -74.1 0 0;4.6 -74.0 0 0;4.6 -74.0 0 0;4.6 -74.1 0 0")


def test_geoshape_single_vertex():
    with pytest.raises(CoordinateError, match="at least 3 distinct vertices, got 1"):
        parse_geoshape("4.6 -74.1 0 0;")


def test_geoshape_vertex_error_names_vertex():
    with pytest.raises(CoordinateError, match=r"vertex 3 '4\.7 -74x 0 0': the longitude"):
        parse_geoshape("4.6 -74.1 0 0; 4.6 -74.0 0 0; 4.7 -74x 0 0; 4.6 -74.1 0 0")


def test_geoshape_empty_vertex_names_vertex():
    with pytest.raises(CoordinateError, match=r"vertex 2 is empty"):
        parse_geoshape("4.6 -74.1 0 0;;4.7 -74.0 0 0;4.6 -74.0 0 0")


def test_geoshape_empty_text():
    with pytest.raises(CoordinateError, match="the text is empty"):
        parse_geoshape("  ")


def test_geotrace():
    line = parse_geotrace("4.6 -74.1 0 0; 4.6 -74.1 0 0; 4.7 -74.0 0 0; 4.8 -74.0 0 0;")
    assert list(line.coords) == [(-74.1, 4.6), (-74.0, 4.7), (-74.0, 4.8)]
    assert not line.has_z


def test_geotrace_too_few_distinct_vertices():
    with pytest.raises(CoordinateError, match="at least 2 distinct vertices, got 1"):
        parse_geotrace("4.6 -74.1 0 0; 4.6 -74.1 3 3")


def test_geotrace_vertex_error_names_vertex():
    with pytest.raises(CoordinateError, match="vertex 2 '4.6 200 0 0': a longitude"):
        parse_geotrace("4.6 -74.1 0 0; 4.6 200 0 0")


# --------------------------------------------------------------------------- UTM

def test_utm_equator_central_meridian_zone_31():
    assert utm_to_lonlat(31, "N", 500000, 0) == (approx(3.0), approx(0.0))


def test_utm_equator_central_meridian_zone_18_both_hemispheres():
    assert utm_to_lonlat(18, "N", 500000, 0) == (approx(-75.0), approx(0.0))
    assert utm_to_lonlat(18, "s", 500000, 10_000_000) == (approx(-75.0), approx(0.0))


@pytest.mark.parametrize("lat", [10.0, 45.0])
def test_utm_central_meridian_matches_meridian_arc(lat):
    lon, got = utm_to_lonlat(18, "N", 500000, meridian_northing(lat))
    assert (lon, got) == (approx(-75.0), approx(lat, abs=1e-7))
    lon, got = utm_to_lonlat(18, "S", 500000, 10_000_000 - meridian_northing(lat))
    assert (lon, got) == (approx(-75.0), approx(-lat, abs=1e-7))


def test_utm_off_meridian_round_trips_through_mgrs_package():
    lon, lat = utm_to_lonlat(18, "N", 612345.5, 1067890.5)
    assert mgrs.MGRS().toMGRS(lat, lon, MGRSPrecision=5) == "18PXR1234567890"


@pytest.mark.parametrize("args, message", [
    ((0, "N", 500000, 0), "the UTM zone must be from 1 to 60, got 0"),
    ((61, "N", 500000, 0), "the UTM zone must be from 1 to 60, got 61"),
    ((18, "X", 500000, 0), "the hemisphere must be 'N' or 'S'"),
    ((18, "N", 0, 0), "a UTM easting must be between 0 and 1,000,000 m"),
    ((18, "N", 1_200_000, 0), "got 1,200,000"),
    ((18, "N", 500000, -1), "a UTM northing must be between 0 and 10,000,000 m"),
    ((18, "N", 500000, 10_000_001), "a UTM northing must be between"),
    ((18, "N", "abc", 0), "easting and northing must be numbers"),
    ((18.5, "N", 500000, 0), "the UTM zone must be a whole number"),
])
def test_utm_to_lonlat_errors(args, message):
    with pytest.raises(CoordinateError) as info:
        utm_to_lonlat(*args)
    assert message in str(info.value)


@pytest.mark.parametrize("text", [
    "18N 500000 0",
    "18 N 500000mE 0mN",
    "18n 500000 0",
    "18N 500000E, 0N",
    "18N 0mN 500000mE",  # units say which is which
])
def test_parse_utm_forms(text):
    assert parse_utm(text) == (approx(-75.0), approx(0.0))


def test_parse_utm_northing():
    assert parse_utm("18N 500000 1000000") == utm_to_lonlat(18, "N", 500000, 1_000_000)
    assert parse_utm("18N 500000 1000000")[1] == approx(9.0465625, abs=1e-6)


def test_parse_utm_band_s_is_northern():
    northing = meridian_northing(36.0)  # band S covers 32°N to 40°N
    lon, lat = parse_utm(f"18S 500000 {northing:.3f}", letter="band")
    assert (lon, lat) == (approx(-75.0), approx(36.0, abs=1e-7))


def test_parse_utm_band_south():
    lon, lat = parse_utm("18L 500000 8894533", letter="band")  # band L: 16°S to 8°S
    assert lon == approx(-75.0) and -16 < lat < -8


def test_parse_utm_hemisphere_s_is_southern():
    lon, lat = parse_utm("18S 500000 10000000")
    assert (lon, lat) == (approx(-75.0), approx(0.0))


@pytest.mark.parametrize("text, kwargs, message", [
    ("18T 500000 4000000", {}, "'T' after the zone is not a hemisphere (N or S); "
                               "if it is an MGRS latitude band (C to X), declare geometry.letter: band"),
    ("18I 500000 4000000", {"letter": "band"}, "'I' after the zone is not a latitude band"),
    ("18S 500000 1000000", {"letter": "band"}, "is outside band S (32° to 40°)"),
    ("18 500000 1000000", {}, "the zone has no letter"),
    ("hello", {}, "expected a UTM coordinate 'zone letter easting northing'"),
    ("61N 500000 0", {}, "the UTM zone must be from 1 to 60"),
    ("18N 1000000 500000", {}, "a UTM easting must be between 0 and 1,000,000 m"),
    ("18N 500000mE 0mE", {}, "both numbers are marked 'E'"),
])
def test_parse_utm_errors(text, kwargs, message):
    with pytest.raises(CoordinateError) as info:
        parse_utm(text, **kwargs)
    assert str(info.value).startswith(f"got '{text}'")
    assert message in str(info.value)


# --------------------------------------------------------------------------- MGRS
# Zone 18 (set 6): column letters S..Z from easting 100 km, so W is 500 km, V 400 km;
# even zones start the row letters at F, so L is 500 km and R is 1,000 km of northing.

def test_mgrs_full_precision_is_the_utm_point():
    assert parse_mgrs("18PWR1234567890") == (
        approx(utm_to_lonlat(18, "N", 512345, 1067890)[0], abs=1e-12),
        approx(utm_to_lonlat(18, "N", 512345, 1067890)[1], abs=1e-12))


def test_mgrs_with_spaces_and_lower_case():
    expected = utm_to_lonlat(18, "N", 412345, 567890)
    assert parse_mgrs("18N VL 12345 67890") == expected
    assert parse_mgrs(" 18n vl 12345 67890 ") == expected


def test_mgrs_origin_of_square():
    assert parse_mgrs("18P WR 00000 00000") == (approx(-75.0), approx(9.0465625, abs=1e-6))


@pytest.mark.parametrize("text, easting, northing", [
    ("18PWR12", 510000, 1020000),  # 1 digit: 10 km square
    ("18PWR1234", 512000, 1034000),  # 2 digits: 1 km
    ("18PWR123456", 512300, 1045600),  # 3 digits: 100 m
    ("18PWR12345678", 512340, 1056780),  # 4 digits: 10 m
])
def test_mgrs_precision_returns_south_west_corner(text, easting, northing):
    assert parse_mgrs(text) == utm_to_lonlat(18, "N", easting, northing)


def test_mgrs_centre_on_request():
    assert parse_mgrs("18PWR12", at="centre") == utm_to_lonlat(18, "N", 515000, 1025000)


@pytest.mark.parametrize("text, message", [
    ("hello", "expected an MGRS reference such as '18N VL 12345 67890'"),
    ("18PWR123", "got 3 digits"),
    ("18PWR", "got 0 digits"),
    ("18PWR123456789012", "got 12 digits"),
    ("18SWR12", "the latitude band 'S' does not fit the grid square WR of zone 18"),
    ("61PWR12", "the zone must be from 1 to 60"),
    ("18PIR12", "expected an MGRS reference"),
])
def test_parse_mgrs_errors(text, message):
    with pytest.raises(CoordinateError) as info:
        parse_mgrs(text)
    assert str(info.value).startswith(f"got '{text}'")
    assert message in str(info.value)
