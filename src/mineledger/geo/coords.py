r"""Coordinates as field data writes them, read into WGS 84 longitude/latitude.

Field forms, spreadsheets and survey reports write positions in many notations: decimal
degrees with a decimal point or a decimal comma, degrees-minutes-seconds with all kinds of
quote characters, ODK/KoboToolbox geopoints and shapes, UTM and MGRS grid references. The
functions here read each notation and return plain floats in degrees, longitude first
(``x = lon``) wherever a pair is returned, longitude in [-180, 180] and latitude in [-90, 90].

Every reading error is a :class:`CoordinateError` whose message names the text that was
read and what was expected; errors of the libraries used (pyproj, mgrs) are wrapped, never
passed on.

Grid conversions use pyproj (UTM, EPSG:326zz/327zz on WGS 84) and the ``mgrs`` package
(MGRS grid squares); geometries are shapely 2 objects. Regular expressions are used only
for the textual notations.

Examples
--------
>>> round(parse_angle("4°35'12.3\"N", axis="lat"), 6)
4.58675
>>> parse_point("4.61, -74.08")
(-74.08, 4.61)
>>> parse_geopoint("4.61 -74.08 2600 5")
(-74.08, 4.61, 2600.0, 5.0)
"""

from __future__ import annotations

import math
import numbers
import re
import warnings
from functools import lru_cache

import mgrs
import shapely
from pyproj import Transformer

from mineledger.errors import MineledgerError

__all__ = [
    "CoordinateError",
    "parse_angle",
    "parse_decimal",
    "parse_geopoint",
    "parse_geoshape",
    "parse_geotrace",
    "parse_mgrs",
    "parse_point",
    "parse_utm",
    "utm_to_lonlat",
]

_SHOWN = 120  # longer texts are shortened in messages


def _shorten(text: object) -> str:
    s = str(text)
    if len(s) <= _SHOWN:
        return s
    return f"{s[:80]} … {s[-30:]}"


class CoordinateError(MineledgerError, ValueError):
    """A coordinate text that cannot be read.

    ``str(exc)`` says what was got and what was expected, for example
    ``got '4°75'N': minutes must be below 60``. It is a :class:`ValueError` and a
    :class:`~mineledger.errors.MineledgerError`, so the command line prints it without a
    traceback.

    Parameters
    ----------
    text : object
        The text (or value) that was read; long texts are shortened in the message.
    reason : str, optional
        What is wrong and what was expected. Without it, ``text`` is the whole message.

    Attributes
    ----------
    text : object
        As given.
    reason : str or None
        As given.

    Examples
    --------
    >>> str(CoordinateError("4°75'N", "minutes must be below 60"))
    "got '4°75'N': minutes must be below 60"
    """

    def __init__(self, text: object, reason: str | None = None) -> None:
        super().__init__(text, reason)
        self.text = text
        self.reason = reason

    def __str__(self) -> str:
        if self.reason is None:
            return str(self.text)
        return f"got '{_shorten(self.text)}': {self.reason}"


# --------------------------------------------------------------------------- text helpers

#: Look-alike characters of field data, mapped to the ASCII ones the parsers read.
_LOOKALIKES = str.maketrans({
    "\u2212": "-",  # minus sign
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash (word processors turn '-' into it)
    "\u2032": "'",  # prime
    "\u2019": "'",  # right single quotation mark
    "\u2018": "'",  # left single quotation mark
    "\u00b4": "'",  # acute accent
    "\u02b9": "'",  # modifier letter prime
    "`": "'",
    "\u2033": '"',  # double prime
    "\u201d": '"',  # right double quotation mark
    "\u201c": '"',  # left double quotation mark
    "\u02ba": '"',  # modifier letter double prime
    "\u00ba": "°",  # masculine ordinal indicator (Spanish keyboards)
    "\u02da": "°",  # ring above
})

_HEMISPHERES = {"N": ("lat", 1), "S": ("lat", -1), "E": ("lon", 1), "W": ("lon", -1),
                "O": ("lon", -1)}  # O: oeste, Spanish (and Portuguese) for west
_AXIS_NAMES = {"lat": "latitude", "lon": "longitude"}
_LIMITS = {"lat": 90.0, "lon": 180.0}
_OTHER_AXIS = {"lat": "lon", "lon": "lat"}


def _normalise(text: str) -> str:
    """Map look-alike characters to ASCII, '' to ", and a UTF-8-read-as-Latin-1 ° back."""
    s = text.replace("\u00c2\u00b0", "°").replace("\u00c2\u00ba", "°")
    s = s.translate(_LOOKALIKES).replace("''", '"')
    return s.strip()


def _check_decimal(decimal: str) -> None:
    if decimal not in (".", ","):
        raise ValueError(f"decimal must be '.' or ',', not {decimal!r}")


def _check_axis(axis: str) -> None:
    if axis not in _AXIS_NAMES:
        raise ValueError(f"axis must be 'lat' or 'lon', not {axis!r}")


def _check_range(value: float, axis: str, text: object) -> float:
    limit = _LIMITS[axis]
    if not -limit <= value <= limit:
        raise CoordinateError(
            text, f"a {_AXIS_NAMES[axis]} must be between -{limit:g} and {limit:g} degrees, "
                  f"got {value:g}")
    return value


def _decimal_hint(text: str, decimal: str) -> str:
    if decimal == "." and "," in text:
        return "; if ',' is a decimal comma here, pass decimal=','"
    if decimal == "," and "." in text:
        return "; with decimal=',' a '.' is not read (pass decimal='.' for a decimal point)"
    return ""


# --------------------------------------------------------------------------- decimal numbers

_DECIMAL_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def parse_decimal(text: str | float | int, *, decimal: str = ".") -> float:
    """Read a plain decimal number.

    Parameters
    ----------
    text : str or float or int
        A number as text (surrounding white space, a leading ``+``/``-`` or a typographic
        minus allowed; no exponent, no thousands separators), or a number, which is passed
        through as a float.
    decimal : {".", ","}
        The decimal separator of the text. With ``","`` a ``.`` in the text is an error
        (it could be a thousands separator).

    Returns
    -------
    float
        The number; its unit is whatever the text's unit is.

    Raises
    ------
    CoordinateError
        Empty text, not a number (``"abc"``, ``"1.2.3"``), the other decimal separator,
        NaN or infinity, a boolean or another type.
    ValueError
        ``decimal`` is neither ``"."`` nor ``","``.

    Examples
    --------
    >>> parse_decimal(" 4.6 ")
    4.6
    >>> parse_decimal("-74,08", decimal=",")
    -74.08
    >>> parse_decimal(3)
    3.0
    >>> parse_decimal("1.2.3")
    Traceback (most recent call last):
    ...
    mineledger.geo.coords.CoordinateError: got '1.2.3': expected a number such as 4.61
    """
    _check_decimal(decimal)
    if isinstance(text, bool):
        raise CoordinateError(text, "expected a number, not a boolean")
    if isinstance(text, numbers.Real):
        value = float(text)
        if not math.isfinite(value):
            raise CoordinateError(text, "expected a finite number")
        return value
    if not isinstance(text, str):
        raise CoordinateError(text, f"expected a number or its text, not {type(text).__name__}")
    s = text.strip().translate(_LOOKALIKES)
    example = "4.61" if decimal == "." else "4,61"
    if not s:
        raise CoordinateError(text, f"expected a number such as {example}, the text is empty")
    if s.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise CoordinateError(text, "expected a finite number")
    if decimal == ",":
        if "." in s:
            raise CoordinateError(text, f"expected a number with a decimal comma such as "
                                        f"{example}{_decimal_hint(s, decimal)}")
        s = s.replace(",", ".")
    elif "," in s:
        raise CoordinateError(text, f"expected a number with a decimal point such as "
                                    f"{example}{_decimal_hint(s, decimal)}")
    if not _DECIMAL_RE.fullmatch(s):
        raise CoordinateError(text, f"expected a number such as {example}")
    return float(s)


# --------------------------------------------------------------------------- angles

_MARK_NAMES = {"°": "a degree sign", "'": "a minutes mark", '"': "a seconds mark",
               ":": "a colon"}
_ALLOWED_MARKS = ({"°", ":", ""}, {"'", ":", ""}, {'"', ""})
_PARTS = ("degrees", "minutes", "seconds")


def _split_hemisphere(s: str, text: object) -> tuple[str | None, str]:
    """Take a leading or trailing hemisphere letter off a normalised text."""
    lead = s[:1].upper() if s[:1].upper() in _HEMISPHERES else None
    if lead:
        s = s[1:].strip()
    trail = s[-1:].upper() if s[-1:].upper() in _HEMISPHERES else None
    if trail:
        s = s[:-1].strip()
    if lead and trail:
        raise CoordinateError(text, f"expected one hemisphere letter, got '{lead}' before and "
                                    f"'{trail}' after the number")
    return lead or trail, s


def _angle_value(body: str, text: object, decimal: str) -> float:
    """Degrees (≥ 0) of an unsigned angle: decimal degrees, D M S, D M.m, with marks."""
    number = r"\d+(?:\.\d+)?" if decimal == "." else r"\d+(?:,\d+)?"
    token = re.compile(rf"({number})\s*([°'\":]?)\s*")
    example = "4.61" if decimal == "." else "4,61"
    garbage = (f"expected decimal degrees (e.g. {example}) or degrees, minutes and seconds "
               f"(e.g. 4°35'12\"N){_decimal_hint(body, decimal)}")
    if not body:
        raise CoordinateError(text, garbage)
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(body):
        m = token.match(body, pos)
        if not m:
            raise CoordinateError(text, garbage)
        tokens.append((m.group(1), m.group(2)))
        pos = m.end()
    if len(tokens) > 3:
        raise CoordinateError(text, f"expected at most degrees, minutes and seconds, got "
                                    f"{len(tokens)} numbers")
    for i, (_, mark) in enumerate(tokens):
        if mark not in _ALLOWED_MARKS[i]:
            raise CoordinateError(text, f"{_MARK_NAMES[mark]} after the {_PARTS[i]}; expected "
                                        "degrees°, minutes' and seconds\" in that order")
    if tokens[-1][1] == ":":
        raise CoordinateError(text, "expected a number after the last ':'")
    values = [float(v.replace(",", ".")) for v, _ in tokens]
    fractional = [("." in v or "," in v) for v, _ in tokens]
    if len(tokens) >= 2 and fractional[0]:
        raise CoordinateError(text, "degrees must be whole when minutes follow")
    if len(tokens) == 3 and fractional[1]:
        raise CoordinateError(text, "minutes must be whole when seconds follow")
    if len(values) >= 2 and values[1] >= 60:
        raise CoordinateError(text, "minutes must be below 60")
    if len(values) == 3 and values[2] >= 60:
        raise CoordinateError(text, "seconds must be below 60")
    return sum(v / 60**i for i, v in enumerate(values))


def parse_angle(text: str | float | int, *, axis: str, decimal: str = ".") -> float:
    r"""Read one latitude or longitude, in decimal degrees or degrees-minutes-seconds.

    Accepted notations (white space between the parts is free):

    * decimal degrees: ``4.61``, ``-74.08``, ``-74,08`` with ``decimal=","``;
    * degrees, minutes, seconds: ``4°35'12.3"N``, ``N 4 35 12.3``, ``-74 04 33``,
      ``74:04:33W``; degrees and decimal minutes: ``N4°35.205'``;
    * marks: ``°`` or ``º`` or ``˚``; ``'`` ``′`` ``’`` for minutes; ``"`` ``″`` ``”`` or
      two single quotes ``''`` for seconds; a decimal comma in the last part with
      ``decimal=","``;
    * a hemisphere letter before or after, upper or lower case: N, S for a latitude;
      E, W, or O (Spanish *oeste*) for a longitude. A sign may stand with it only if it
      agrees (``-4 S``).

    A sign applies to the whole angle: ``-0 30 00`` is -0.5.

    Parameters
    ----------
    text : str or float or int
        The angle; a number is only range-checked.
    axis : {"lat", "lon"}
        Which coordinate this is: decides the range and which hemisphere letters fit.
    decimal : {".", ","}
        Decimal separator of the text.

    Returns
    -------
    float
        Degrees: north and east positive; latitude in [-90, 90], longitude in [-180, 180].

    Raises
    ------
    CoordinateError
        Minutes or seconds of 60 or more; a fractional degree followed by minutes (or
        fractional minutes by seconds); a latitude beyond ±90 or a longitude beyond ±180;
        a hemisphere letter that does not fit ``axis``; a sign that contradicts the
        hemisphere letter (``-4 N``); anything else that is not an angle.
    ValueError
        ``axis`` or ``decimal`` has a value not listed above.

    Examples
    --------
    >>> round(parse_angle("4°35'12.3\"N", axis="lat"), 6)
    4.58675
    >>> round(parse_angle("74 04 33 O", axis="lon"), 6)
    -74.075833
    >>> parse_angle("N4°35.205'", axis="lat")
    4.58675
    >>> parse_angle("-0 30", axis="lat")
    -0.5
    >>> parse_angle("4°75'N", axis="lat")
    Traceback (most recent call last):
    ...
    mineledger.geo.coords.CoordinateError: got '4°75'N': minutes must be below 60
    """
    _check_axis(axis)
    _check_decimal(decimal)
    if isinstance(text, numbers.Real) and not isinstance(text, bool):
        return _check_range(parse_decimal(text), axis, text)
    if not isinstance(text, str):
        raise CoordinateError(text, f"expected an angle or its text, not {type(text).__name__}")
    s = _normalise(text)
    letter, body = _split_hemisphere(s, text)
    hemi_sign = 0
    if letter:
        letter_axis, hemi_sign = _HEMISPHERES[letter]
        if letter_axis != axis:
            fits = "N or S" if axis == "lat" else "E, W or O"
            raise CoordinateError(text, f"'{letter}' is a hemisphere letter of a "
                                        f"{_AXIS_NAMES[letter_axis]}; a {_AXIS_NAMES[axis]} "
                                        f"takes {fits}")
    sign = 0
    if body[:1] in ("+", "-"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:].strip()
    if sign and hemi_sign and sign != hemi_sign:
        raise CoordinateError(text, f"the sign '{'-' if sign < 0 else '+'}' contradicts the "
                                    f"hemisphere letter '{letter}'")
    value = _angle_value(body, text, decimal) * (hemi_sign or sign or 1)
    return _check_range(value, axis, text)


# --------------------------------------------------------------------------- points

def _letter_axis(part: str) -> str | None:
    """The axis a part's leading or trailing hemisphere letter stands for, if any."""
    s = _normalise(part)
    for ch in (s[:1].upper(), s[-1:].upper()):
        if ch in _HEMISPHERES:
            return _HEMISPHERES[ch][0]
    return None


def _pair(text: str, first: str, second: str, order: str,
          decimal: str) -> tuple[float, float]:
    """(lon, lat) of two coordinate texts; hemisphere letters decide the axes, else order."""
    a_axis, b_axis = _letter_axis(first), _letter_axis(second)
    if a_axis and b_axis and a_axis == b_axis:
        raise CoordinateError(text, f"both coordinates carry {_AXIS_NAMES[a_axis]} "
                                    "hemisphere letters")
    if a_axis:
        b_axis = _OTHER_AXIS[a_axis]
    elif b_axis:
        a_axis = _OTHER_AXIS[b_axis]
    else:
        a_axis, b_axis = ("lat", "lon") if order == "latlon" else ("lon", "lat")
    values = {}
    for ordinal, part, axis in (("first", first, a_axis), ("second", second, b_axis)):
        try:
            values[axis] = parse_angle(part.strip(), axis=axis, decimal=decimal)
        except CoordinateError as exc:
            raise CoordinateError(text, f"the {ordinal} coordinate ({_AXIS_NAMES[axis]}) "
                                        f"'{_shorten(exc.text)}': {exc.reason}") from None
    return values["lon"], values["lat"]


def parse_point(text: str, *, order: str = "latlon",
                decimal: str = ".") -> tuple[float, float]:
    r"""Read one cell holding both coordinates of a point.

    The two coordinates are separated by ``;``, by ``,`` (only with ``decimal="."``), or by
    white space. Each is read as by :func:`parse_angle`, so DMS pairs work too. With white
    space only, the text is split where both halves read as an angle; if several splits
    would (``4 5 6 7``), the text is refused as ambiguous rather than guessed.

    When hemisphere letters are present they decide which coordinate is the latitude and
    which the longitude, whatever ``order`` says; ``order`` decides only for bare numbers.

    Parameters
    ----------
    text : str
        The cell, e.g. ``"4.61 -74.08"``, ``"4,61; -74,08"``, ``"4°35'12\"N 74°04'33\"W"``.
    order : {"latlon", "lonlat"}
        Order of bare (letterless) coordinates in the text.
    decimal : {".", ","}
        Decimal separator of the text.

    Returns
    -------
    tuple of float
        ``(lon, lat)`` in degrees.

    Raises
    ------
    CoordinateError
        Not exactly two coordinates, an ambiguous split, both coordinates with letters of
        the same axis, or any error of :func:`parse_angle` (naming which coordinate).
    ValueError
        ``order`` or ``decimal`` has a value not listed above.

    Examples
    --------
    >>> parse_point("4.61 -74.08")
    (-74.08, 4.61)
    >>> parse_point("4,61; -74,08", decimal=",")
    (-74.08, 4.61)
    >>> parse_point("-74.08 4.61", order="lonlat")
    (-74.08, 4.61)
    >>> lon, lat = parse_point("74°04'33\"W 4°35'12.3\"N")
    >>> round(lon, 6), round(lat, 6)
    (-74.075833, 4.58675)
    """
    if order not in ("latlon", "lonlat"):
        raise ValueError(f"order must be 'latlon' or 'lonlat', not {order!r}")
    _check_decimal(decimal)
    if not isinstance(text, str):
        raise CoordinateError(text, f"expected a text holding two coordinates, not "
                                    f"{type(text).__name__}")
    s = _normalise(text)
    if not s:
        raise CoordinateError(text, "expected two coordinates, the text is empty")
    for sep in (";", ","):
        if sep == "," and decimal == ",":
            continue
        if sep in s:
            parts = s.split(sep)
            if len(parts) != 2:
                hint = _decimal_hint(",", decimal) if sep == "," else ""
                raise CoordinateError(text, f"expected exactly two coordinates separated by "
                                            f"'{sep}', got {len(parts)} parts{hint}")
            try:
                return _pair(text, parts[0], parts[1], order, decimal)
            except CoordinateError as exc:
                if sep == ",":
                    exc.reason += _decimal_hint(",", decimal)
                raise
    # white space only: hemisphere letters become tokens of their own
    tokens = re.sub(r"([NSEWOnsewo])", r" \1 ", s).split()
    n = len(tokens)
    if n < 2:
        raise CoordinateError(text, "expected two coordinates, found one")
    found: dict[int, tuple[float, float]] = {}
    errors: dict[int, CoordinateError] = {}
    for k in range(1, n):
        try:
            found[k] = _pair(text, " ".join(tokens[:k]), " ".join(tokens[k:]), order, decimal)
        except CoordinateError as exc:
            errors[k] = exc
    if len(found) == 1:
        return next(iter(found.values()))
    if found:
        raise CoordinateError(text, "cannot tell where the first coordinate ends and the "
                                    "second begins; separate them with ';'")
    # nothing fits: report the error of the most plausible split
    letters = [i for i, t in enumerate(tokens) if t.upper() in _HEMISPHERES]
    k = n // 2
    if len(letters) == 2 and letters[1] == n - 1:
        k = letters[0] + 1
    elif len(letters) == 2 and letters[0] == 0:
        k = letters[1]
    if n == 2:
        raise errors[1]
    raise CoordinateError(text, f"does not read as two coordinates: {errors[k].reason}")


# --------------------------------------------------------------------------- ODK

_GEOPOINT_PARTS = ("latitude", "longitude", "altitude", "accuracy")


def parse_geopoint(text: str) -> tuple[float, float, float | None, float | None]:
    """Read an ODK / KoboToolbox geopoint ``"lat lon alt acc"``.

    Parameters
    ----------
    text : str
        Latitude and longitude in decimal degrees, then optionally altitude (m) and
        accuracy (m), separated by white space, decimal point. ODK writes all four.

    Returns
    -------
    tuple
        ``(lon, lat, alt, acc)``: degrees, degrees, metres or None, metres or None.

    Raises
    ------
    CoordinateError
        Not 2 to 4 numbers, a number that does not read, latitude or longitude out of
        range, a negative accuracy.

    Examples
    --------
    >>> parse_geopoint("4.61 -74.08 2600 5")
    (-74.08, 4.61, 2600.0, 5.0)
    >>> parse_geopoint("4.61 -74.08")
    (-74.08, 4.61, None, None)
    """
    if not isinstance(text, str):
        raise CoordinateError(text, f"expected an ODK geopoint 'lat lon alt acc', not "
                                    f"{type(text).__name__}")
    parts = text.split()
    if not 2 <= len(parts) <= 4:
        plural = "" if len(parts) == 1 else "s"
        raise CoordinateError(text, f"expected an ODK geopoint 'lat lon alt acc' (alt and acc "
                                    f"optional), got {len(parts)} number{plural}")
    values: list[float | None] = [None, None, None, None]
    for i, part in enumerate(parts):
        try:
            values[i] = parse_decimal(part)
        except CoordinateError as exc:
            raise CoordinateError(text, f"the {_GEOPOINT_PARTS[i]} '{part}': "
                                        f"{exc.reason}") from None
    lat, lon, alt, acc = values
    _check_range(lat, "lat", text)
    _check_range(lon, "lon", text)
    if acc is not None and acc < 0:
        raise CoordinateError(text, f"the accuracy must not be negative, got {acc:g}")
    return lon, lat, alt, acc


def _vertices(text: str, kind: str) -> list[tuple[float, float]]:
    """(lon, lat) vertices of an ODK geotrace/geoshape, consecutive repeats dropped."""
    if not isinstance(text, str):
        raise CoordinateError(text, f"expected an ODK {kind} (geopoints joined by ';'), not "
                                    f"{type(text).__name__}")
    pieces = text.split(";")
    if len(pieces) > 1 and not pieces[-1].strip():
        pieces.pop()  # a trailing ';'
    if len(pieces) == 1 and not pieces[0].strip():
        raise CoordinateError(text, f"expected an ODK {kind} (geopoints 'lat lon alt acc' "
                                    "joined by ';'), the text is empty")
    points: list[tuple[float, float]] = []
    for number, piece in enumerate(pieces, start=1):
        if not piece.strip():
            raise CoordinateError(text, f"vertex {number} is empty (two ';' in a row)")
        try:
            lon, lat, _, _ = parse_geopoint(piece)
        except CoordinateError as exc:
            raise CoordinateError(text, f"vertex {number} '{piece.strip()}': "
                                        f"{exc.reason}") from None
        if not points or points[-1] != (lon, lat):
            points.append((lon, lat))
    return points


def parse_geotrace(text: str) -> shapely.LineString:
    """Read an ODK / KoboToolbox geotrace into a 2D line in lon/lat.

    Parameters
    ----------
    text : str
        Geopoints ``"lat lon alt acc"`` joined by ``";"``. White space after each ``;`` and
        a trailing ``;`` are accepted; consecutive repeated vertices are dropped; altitude
        and accuracy are read (and checked) but not kept.

    Returns
    -------
    shapely.LineString
        2D, ``x = lon``, ``y = lat``, degrees.

    Raises
    ------
    CoordinateError
        A vertex that does not read (the message names its 1-based number), or fewer than
        2 distinct vertices.

    Examples
    --------
    >>> parse_geotrace("4.6 -74.1 0 0; 4.6 -74.1 0 0; 4.7 -74.0 0 0;").wkt
    'LINESTRING (-74.1 4.6, -74 4.7)'
    """
    points = _vertices(text, "geotrace")
    distinct = len(set(points))
    if distinct < 2:
        raise CoordinateError(text, f"a geotrace needs at least 2 distinct vertices, "
                                    f"got {distinct}")
    return shapely.LineString(points)


def parse_geoshape(text: str) -> shapely.Polygon:
    """Read an ODK / KoboToolbox geoshape into a 2D polygon in lon/lat.

    Parameters
    ----------
    text : str
        Geopoints ``"lat lon alt acc"`` joined by ``";"``, the first repeated at the end
        (ODK closes shapes; an unclosed one is closed here). White space after each ``;``
        and a trailing ``;`` are accepted; consecutive repeated vertices are dropped;
        altitude and accuracy are read (and checked) but not kept.

    Returns
    -------
    shapely.Polygon
        2D, ``x = lon``, ``y = lat``, degrees, closed. Validity (e.g. a self-crossing
        outline) is not checked here.

    Raises
    ------
    CoordinateError
        A vertex that does not read (the message names its 1-based number), or fewer than
        3 distinct vertices.

    Examples
    --------
    >>> parse_geoshape("0 0 0 0;0 1 0 0;1 1 0 0;0 0 0 0").wkt
    'POLYGON ((0 0, 1 0, 1 1, 0 0))'
    """
    points = _vertices(text, "geoshape")
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()
    distinct = len(set(points))
    if distinct < 3:
        raise CoordinateError(text, f"a geoshape needs at least 3 distinct vertices, "
                                    f"got {distinct}")
    return shapely.Polygon(points)


# --------------------------------------------------------------------------- UTM

@lru_cache(maxsize=None)
def _utm_transformer(epsg: int) -> Transformer:
    return Transformer.from_crs(f"EPSG:{epsg}", 4326, always_xy=True)


def _metres(value: float) -> str:
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def _wrap_lon(lon: float) -> float:
    if -180.0 <= lon <= 180.0:
        return lon
    return (lon + 180.0) % 360.0 - 180.0


def utm_to_lonlat(zone: int, hemisphere: str, easting: float,
                  northing: float) -> tuple[float, float]:
    """Convert a WGS 84 UTM coordinate to longitude/latitude.

    Parameters
    ----------
    zone : int
        UTM zone, 1 to 60.
    hemisphere : {"N", "S"}
        Hemisphere (not an MGRS latitude band; see :func:`parse_utm`). Case is ignored.
    easting : float
        Metres, false easting included; must be between 0 and 1,000,000 (real eastings
        lie within about 100,000 to 900,000).
    northing : float
        Metres, false northing included in the south; 0 to 10,000,000.

    Returns
    -------
    tuple of float
        ``(lon, lat)`` in degrees, via pyproj from EPSG:326zz (north) or EPSG:327zz (south).

    Raises
    ------
    CoordinateError
        Zone, hemisphere, easting or northing out of range or not a number, or the
        conversion fails.

    Examples
    --------
    >>> lon, lat = utm_to_lonlat(31, "N", 500000, 0)
    >>> round(lon, 9), round(lat, 9)
    (3.0, 0.0)
    >>> lon, lat = utm_to_lonlat(18, "S", 500000, 10000000)
    >>> round(lon, 9), round(lat, 9)
    (-75.0, 0.0)
    """
    shown = f"{zone}{hemisphere} {easting} {northing}"
    if isinstance(zone, str) and zone.strip().isdigit():
        zone = int(zone)
    if isinstance(zone, bool) or not isinstance(zone, numbers.Integral):
        raise CoordinateError(shown, f"the UTM zone must be a whole number from 1 to 60, "
                                     f"got {zone!r}")
    if not 1 <= zone <= 60:
        raise CoordinateError(shown, f"the UTM zone must be from 1 to 60, got {zone}")
    hemi = str(hemisphere).strip().upper()
    if hemi not in ("N", "S"):
        raise CoordinateError(shown, f"the hemisphere must be 'N' or 'S', got '{hemisphere}'")
    try:
        east, north = parse_decimal(easting), parse_decimal(northing)
    except CoordinateError as exc:
        raise CoordinateError(shown, f"easting and northing must be numbers of metres; "
                                     f"'{exc.text}': {exc.reason}") from None
    if not 0 < east < 1_000_000:
        raise CoordinateError(shown, f"a UTM easting must be between 0 and 1,000,000 m "
                                     f"(100,000 to 900,000 in practice), got {_metres(east)}")
    if not 0 <= north <= 10_000_000:
        raise CoordinateError(shown, f"a UTM northing must be between 0 and 10,000,000 m, "
                                     f"got {_metres(north)}")
    epsg = (32600 if hemi == "N" else 32700) + int(zone)
    try:
        lon, lat = _utm_transformer(epsg).transform(east, north, errcheck=True)
    except Exception as exc:  # pyproj's errors are not the user's
        raise CoordinateError(shown, f"the UTM coordinate does not convert "
                                     f"(EPSG:{epsg}): {exc}") from None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise CoordinateError(shown, f"the UTM coordinate does not convert (EPSG:{epsg})")
    return _wrap_lon(float(lon)), float(lat)


_BANDS = "CDEFGHJKLMNPQRSTUVWX"  # MGRS latitude bands, 8° each from 80°S; X is 72–84°N
_BAND_TOLERANCE = 0.25  # degrees; rounding and grid convergence near a band's edge


def _band_range(band: str) -> tuple[float, float]:
    i = _BANDS.index(band)
    low = -80.0 + 8.0 * i
    return low, (84.0 if band == "X" else low + 8.0)


_UTM_RE = re.compile(
    r"""\s*(?P<zone>\d{1,2})\s*(?P<letter>[A-Za-z])\s*[,;]?\s*
        (?P<a>\d+(?:\.\d+)?)\s*(?P<au>m?[EN])?\s*[,;]?\s*
        (?P<b>\d+(?:\.\d+)?)\s*(?P<bu>m?[EN])?\s*""",
    re.VERBOSE | re.IGNORECASE)
_UTM_NO_LETTER_RE = re.compile(r"\s*\d{1,2}\s+\d+(?:\.\d+)?\s*m?E?\s*[,;]?\s*\d+(?:\.\d+)?"
                               r"\s*m?N?\s*", re.IGNORECASE)


def parse_utm(text: str, *, letter: str = "hemisphere") -> tuple[float, float]:
    """Read a UTM coordinate ``"zone letter easting northing"`` (WGS 84).

    Accepted: ``"18N 500000 1000000"``, ``"18 N 500000mE 1000000mN"``,
    ``"18N 500000E, 1000000N"``; with ``mE``/``mN`` (or ``E``/``N``) units the two numbers
    may come in either order.

    The letter after the zone is ambiguous in field data: it may be the hemisphere (N or
    S) or the MGRS latitude band (C to X, without I and O), and **band S is north of the
    equator** (32°N to 40°N), as are bands N to X. The caller declares which it is:

    * ``letter="hemisphere"`` (default): N is north, S is south; any other letter is an
      error asking to declare ``letter="band"``.
    * ``letter="band"``: C to M are south, N to X are north, and the latitude reached must
      lie in the band (within 0.25°).

    Parameters
    ----------
    text : str
        The coordinate; easting and northing in metres.
    letter : {"hemisphere", "band"}
        How to read the letter after the zone.

    Returns
    -------
    tuple of float
        ``(lon, lat)`` in degrees.

    Raises
    ------
    CoordinateError
        Text not in the form above, a letter that is not a hemisphere (or band), a
        latitude outside the declared band, or any error of :func:`utm_to_lonlat`.
    ValueError
        ``letter`` has a value not listed above.

    Examples
    --------
    >>> lon, lat = parse_utm("18 N 500000mE 1000000mN")
    >>> round(lon, 6), round(lat, 6)
    (-75.0, 9.046562)
    >>> lon, lat = parse_utm("18P 500000 1000000", letter="band")
    >>> round(lon, 6), round(lat, 6)
    (-75.0, 9.046562)
    """
    if letter not in ("hemisphere", "band"):
        raise ValueError(f"letter must be 'hemisphere' or 'band', not {letter!r}")
    if not isinstance(text, str):
        raise CoordinateError(text, f"expected a UTM coordinate text, not {type(text).__name__}")
    m = _UTM_RE.fullmatch(text)
    if not m:
        if _UTM_NO_LETTER_RE.fullmatch(text):
            raise CoordinateError(text, "the zone has no letter; expected e.g. "
                                        "'18N 500000 1000000' (N or S after the zone)")
        raise CoordinateError(text, "expected a UTM coordinate 'zone letter easting northing' "
                                    "such as '18N 500000 1000000'")
    zone = int(m["zone"])
    mark = m["letter"].upper()
    east, north = float(m["a"]), float(m["b"])
    units = ((m["au"] or "")[-1:].upper(), (m["bu"] or "")[-1:].upper())
    if units[0] and units[0] == units[1]:
        raise CoordinateError(text, f"both numbers are marked '{units[0]}'; expected an "
                                    "easting (E) and a northing (N)")
    if units[0] == "N" or units[1] == "E":
        east, north = north, east
    if letter == "hemisphere":
        if mark not in ("N", "S"):
            raise CoordinateError(text, f"'{mark}' after the zone is not a hemisphere (N or S); "
                                        "if it is an MGRS latitude band (C to X), declare "
                                        "geometry.letter: band in the profile")
        hemi = mark
    else:
        if mark not in _BANDS:
            raise CoordinateError(text, f"'{mark}' after the zone is not a latitude band "
                                        "(C to X, without I and O)")
        hemi = "S" if mark <= "M" else "N"
    try:
        lon, lat = utm_to_lonlat(zone, hemi, east, north)
    except CoordinateError as exc:
        raise CoordinateError(text, exc.reason) from None
    if letter == "band":
        low, high = _band_range(mark)
        if not low - _BAND_TOLERANCE <= lat <= high + _BAND_TOLERANCE:
            raise CoordinateError(text, f"the latitude {lat:.4f} is outside band {mark} "
                                        f"({low:g}° to {high:g}°); check the letter and the "
                                        "northing")
    return lon, lat


# --------------------------------------------------------------------------- MGRS

_MGRS_RE = re.compile(r"(\d{1,2})([C-HJ-NP-X])([A-HJ-NP-Z])([A-HJ-NP-V])(\d*)")
_MGRS = mgrs.MGRS()


def parse_mgrs(text: str, *, at: str = "sw") -> tuple[float, float]:
    """Read an MGRS grid reference (WGS 84, UTM zones; not the polar UPS areas).

    An MGRS reference names a grid square, not a point: ``18PWR12`` is the 10 km square
    whose south-west corner is at easting 510,000 m, northing 1,020,000 m of zone 18. By
    default this returns that **south-west corner** (the point the digits spell, as by
    truncation); ``at="centre"`` returns the square's centre instead, which is what
    ``mgrs.MGRS().toLatLon`` (mgrs 1.6) gives.

    Parameters
    ----------
    text : str
        Zone, band, 100 km square letters, then 1 to 5 digits of easting and as many of
        northing; spaces anywhere and lower case are accepted (``"18N VL 12345 67890"``).
    at : {"sw", "centre"}
        Which point of the grid square to return (``"center"`` is accepted too).

    Returns
    -------
    tuple of float
        ``(lon, lat)`` in degrees.

    Raises
    ------
    CoordinateError
        Not an MGRS reference, an odd number of digits or more than 10, a band letter that
        does not fit the grid square, or a reference the mgrs package refuses.
    ValueError
        ``at`` has a value not listed above.

    Examples
    --------
    >>> lon, lat = parse_mgrs("18P WR 00000 00000")
    >>> round(lon, 6), round(lat, 6)
    (-75.0, 9.046562)
    >>> parse_mgrs("18P WR 12 34") == utm_to_lonlat(18, "N", 512000, 1034000)
    True
    """
    if at not in ("sw", "centre", "center"):
        raise ValueError(f"at must be 'sw' or 'centre', not {at!r}")
    if not isinstance(text, str):
        raise CoordinateError(text, f"expected an MGRS reference text, not {type(text).__name__}")
    s = re.sub(r"\s+", "", text).upper()
    m = _MGRS_RE.fullmatch(s)
    if not m:
        raise CoordinateError(text, "expected an MGRS reference such as '18N VL 12345 67890' "
                                    "(zone, latitude band, 100 km square, then easting and "
                                    "northing digits)")
    zone, band, digits = int(m[1]), m[2], m[5]
    if not 1 <= zone <= 60:
        raise CoordinateError(text, f"the zone must be from 1 to 60, got {zone}")
    if len(digits) % 2 or not 2 <= len(digits) <= 10:
        raise CoordinateError(text, f"expected 1 to 5 digits each of easting and northing "
                                    f"(an even count from 2 to 10), got {len(digits)} digits")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # mgrs warns when band and square disagree
            utm_zone, hemi, east, north = _MGRS.MGRSToUTM(s)
    except RuntimeWarning:
        raise CoordinateError(text, f"the latitude band '{band}' does not fit the grid square "
                                    f"{m[3]}{m[4]} of zone {zone}") from None
    except Exception as exc:  # mgrs's errors are not the user's
        raise CoordinateError(text, f"not a valid MGRS reference ({exc})") from None
    if at == "sw":  # mgrs gives the centre of the square
        half = 0.5 * 10 ** (5 - len(digits) // 2)
        east, north = east - half, north - half
    try:
        return utm_to_lonlat(int(utm_zone), str(hemi), east, north)
    except CoordinateError as exc:
        raise CoordinateError(text, exc.reason) from None
