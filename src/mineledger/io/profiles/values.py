"""Value parsing of import profiles: how one stored field is made from a source row's cell —
text, numbers with their separators, codes, booleans, dates in a declared notation, times
with their offsets, a date from year, month and day columns, a number computed from others —
and the error that sends a row to quarantine when a value does not fit (docs/profiles.md,
"Field rules")."""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_DIGITS = re.compile(r"\d+", re.ASCII)
#: Date notations a rule may declare (``format``); anything with ``%`` is a strptime pattern.
DATE_FORMATS = ("iso", "dmy", "mdy", "ymd", "serial")
_DATE_PARTS = re.compile(r"(\d{1,4})[/.\- ](\d{1,2})[/.\- ](\d{1,4})"
                         r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?", re.ASCII)
#: Area units a profile may declare; values are converted to m² on input.
AREA_UNITS = {"m2": 1.0, "ha": 1e4, "km2": 1e6}
#: The parts of a date a ``parts`` rule reads, largest first.
DATE_PARTS = ("year", "month", "day")
#: The years a ``parts`` rule accepts when it declares no ``min``/``max``.
PART_YEARS = (1000, 2100)
#: The operations of a ``compute`` rule: ``sum`` adds the columns, ``difference`` takes the
#: others from the first.
COMPUTE_OPS = ("sum", "difference")
_OP_SIGN = {"sum": " + ", "difference": " − "}
_WHOLE = re.compile(r"[+-]?\d+(\.0*)?", re.ASCII)


#: Values a field may not take because the figures name their own rows so: an area coded
#: "total" or "unassigned", an organisation called "total", would merge with those rows.
RESERVED = {"code": ("total", "unassigned"), "admin_code": ("total", "unassigned"),
            "parent_code": ("total", "unassigned"), "organisation": ("total",)}


class FieldError(Exception):
    """A value that does not fit its field rule (turned into a quarantine reason).

    ``where`` replaces ``column NAME`` in the message when the value comes from several
    columns (a computed number)."""

    def __init__(self, field: str, column: str | None, value: Any, expected: str,
                 where: str | None = None):
        self.field, self.column, self.value, self.expected = field, column, value, expected
        where = where or (f"column {column!r}" if column else "constant")
        super().__init__(f"field {field!r} ({where}): got {value!r}, expected {expected}")


@dataclass(frozen=True)
class DateParts:
    """A date read from year, month and day columns, known to the year, the month or the
    day: ``date`` is the calendar date only when all three are known (docs/profiles.md,
    "Dates from year, month and day columns").

    >>> DateParts(2005, 3, None).date is None, DateParts(2005, 3, 4).date
    (True, datetime.date(2005, 3, 4))
    """

    year: int
    month: int | None = None
    day: int | None = None

    @property
    def date(self) -> dt.date | None:
        if self.month is None or self.day is None:
            return None
        return dt.date(self.year, self.month, self.day)


@dataclass
class FieldRule:
    """How one stored field is made from a source row."""

    name: str
    type: str
    vocabulary: tuple[str, ...] | None
    column: str | None = None
    value: Any = None
    parse: str = "text"
    regex: re.Pattern | None = None
    map: dict[str, Any] | None = None
    default: Any = None
    has_default: bool = False
    null_values: frozenset[str] = frozenset()
    required: bool = False
    min: float | None = None
    max: float | None = None
    thousands: str | None = None
    decimal: str = "."
    width: int | None = None
    upper: bool = False
    scale: float = 1.0
    format: str | None = None  # date notation (DATE_FORMATS or a strptime pattern)
    timezone: str | None = None  # the zone of times written without a UTC offset
    #: a date from its parts: ``{"year": COLUMN, "month": COLUMN, "day": COLUMN}`` (month
    #: and day optional)
    parts: dict[str, str] | None = None
    #: a number computed from others: (``sum`` or ``difference``, the columns)
    compute: tuple[str, tuple[str, ...]] | None = None
    #: with ``parts``: the date must be whole (no other field keeps a year-only date's year)
    complete: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """The source columns the rule reads (none for a constant)."""
        if self.parts is not None:
            return tuple(self.parts[p] for p in DATE_PARTS if p in self.parts)
        if self.compute is not None:
            return self.compute[1]
        return (self.column,) if self.column else ()

    def _cell(self, props: dict[str, Any], column: str) -> Any:
        """A cell's value (text trimmed, Unicode NFC), or None for an empty or null cell."""
        raw = props.get(column)
        if type(raw).__name__ == "FormulaWithoutValue":
            raise FieldError(self.name, column, str(raw), "a value: the cell holds a formula "
                             "with no computed value (open and save the workbook in a "
                             "spreadsheet program, or paste values)")
        value = unicodedata.normalize("NFC", raw).strip() if isinstance(raw, str) else raw
        if isinstance(value, str) and "\x00" in value:
            raise FieldError(self.name, column, raw.replace("\x00", "\\x00"),
                             "text without NUL characters (\\x00): is the file binary, or "
                             "UTF-16 read as another encoding?")
        if value == "" or value is None or (isinstance(value, str) and value in self.null_values):
            return None
        return value

    def apply(self, props: dict[str, Any]) -> Any:
        """The stored value for a row's properties (a :class:`DateParts` for a ``parts``
        rule); raises :class:`FieldError`."""
        if self.parts is not None:
            return self._from_parts(props)
        if self.compute is not None:
            return self._computed(props)
        if self.column is None:
            return self.value
        raw = props.get(self.column)
        value = self._cell(props, self.column)
        if value is None:
            if self.required:
                raise FieldError(self.name, self.column, raw, "a value (the field is required)")
            return None
        if self.regex is not None:
            m = self.regex.search(str(value))
            if not m:
                raise FieldError(self.name, self.column, raw, f"text matching /{self.regex.pattern}/")
            value = m.group(1) if m.groups() else m.group(0)
        if self.map is not None:
            # a GIS integer column with nulls reads as float: 1.0 is the code "1"
            key = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
            if key in self.map:
                value = self.map[key]
            elif self.has_default:
                value = self.default
            else:
                shown = ", ".join(repr(k) for k in list(self.map)[:12])
                raise FieldError(self.name, self.column, raw, f"one of {shown}")
            if value is None:
                return None
        value = self._parse(value, raw)
        if self.upper and isinstance(value, str):
            value = value.upper()
        if self.vocabulary and value not in self.vocabulary:
            raise FieldError(self.name, self.column, raw,
                             "one of " + ", ".join(self.vocabulary))
        if self.name in RESERVED and isinstance(value, str) and \
                value.strip().lower() in RESERVED[self.name]:
            raise FieldError(self.name, self.column, raw, "a name other than " + " or ".join(
                f"'{r}'" for r in RESERVED[self.name]) + " (the figures' own rows are so named)")
        return value

    def _expected_date(self) -> str:
        fmt = self.format or "iso"
        if fmt == "iso":
            return ("a date as YYYY-MM-DD or an ISO 8601 time (for day-first or month-first "
                    "dates declare format: dmy or mdy in the profile)")
        if fmt == "serial":
            return "a spreadsheet date serial number (days since 1899-12-30)"
        if "%" in fmt:
            return f"a date in the form {fmt}"
        order = {"dmy": "DD/MM/YYYY", "mdy": "MM/DD/YYYY", "ymd": "YYYY/MM/DD"}[fmt]
        return f"a date as {order} (separator / . - or space)"

    def _when(self, value, raw, kind: str):
        """A date or a UTC datetime from a cell; never guesses day-first against month-first."""
        fmt = self.format or "iso"
        if isinstance(value, (int, float)) and not isinstance(value, bool) and fmt == "serial":
            moment = from_serial(float(value))
            if moment is None:
                raise FieldError(self.name, self.column, raw, self._expected_date())
        elif isinstance(value, (dt.datetime, dt.date)):
            moment = value
        else:
            text = str(value).strip()
            moment = None
            try:
                if fmt == "iso":
                    moment = dt.datetime.fromisoformat(text) if ("T" in text or ":" in text) \
                        else dt.date.fromisoformat(text)
                elif fmt == "serial":
                    moment = from_serial(float(text.replace(",", ".")))
                elif "%" in fmt:
                    moment = dt.datetime.strptime(text, fmt)
                    if not any(c in fmt for c in "HIMSfzp"):
                        moment = moment.date()
                else:
                    m = _DATE_PARTS.fullmatch(text)
                    if m:
                        a, b, c = (int(x) for x in m.groups()[:3])
                        y, mo, d = {"dmy": (c, b, a), "mdy": (c, a, b), "ymd": (a, b, c)}[fmt]
                        if y < 1000:
                            raise ValueError("two-digit year")
                        if m.group(4) is None:
                            moment = dt.date(y, mo, d)
                        else:
                            moment = dt.datetime(y, mo, d, int(m.group(4)), int(m.group(5)),
                                                 int(m.group(6) or 0))
            except (ValueError, OverflowError):
                moment = None
            if moment is None:
                raise FieldError(self.name, self.column, raw, self._expected_date())
        if kind == "date":
            # the calendar date as the source wrote it (in its own time zone)
            return moment.date() if isinstance(moment, dt.datetime) else moment
        if not isinstance(moment, dt.datetime):
            raise FieldError(self.name, self.column, raw, "a date with a time of day (this is a "
                             "date only; map it to a date field)")
        if moment.tzinfo is None:
            if not self.timezone:
                raise FieldError(self.name, self.column, raw, "a time with a UTC offset (such as "
                                 "2021-03-04T23:30:00-05:00), or declare read.timezone in the "
                                 "profile for times written without one")

            zone = ZoneInfo(self.timezone)
            moment = moment.replace(tzinfo=zone)
            # a wall-clock time the zone skips (spring) or repeats (autumn) is no instant
            if moment.astimezone(dt.timezone.utc).astimezone(zone).replace(tzinfo=None) != \
                    moment.replace(tzinfo=None):
                raise FieldError(self.name, self.column, raw, f"a time that exists in "
                                 f"{self.timezone} (clocks skip it when they go forward)")
            if moment.replace(fold=1).utcoffset() != moment.utcoffset():
                raise FieldError(self.name, self.column, raw, f"a time that happened once in "
                                 f"{self.timezone} (this one is repeated when clocks go back; "
                                 "give its UTC offset)")
        try:
            return moment.astimezone(dt.timezone.utc)
        except (OverflowError, ValueError):
            raise FieldError(self.name, self.column, raw, "a time within years 1–9999 in UTC") from None

    def _number_text(self, value) -> str:
        text = str(value)
        if self.thousands:
            text = text.replace(self.thousands, "")
        if self.decimal != ".":
            text = text.replace(self.decimal, ".")
        return text

    def _parse(self, value, raw):
        kind = self.parse
        if kind == "text":
            if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
                value = int(value)  # a spreadsheet number cell holding a code: 1234, not 1234.0
            if isinstance(value, dt.datetime) and value.time() == dt.time(0):
                value = value.date()  # a spreadsheet date cell: 2021-03-04, not …00:00:00
            if isinstance(value, (dt.date, dt.datetime)):
                return value.isoformat()
            return str(value) if not isinstance(value, (bool, int, float)) or self.type == "text" \
                else value
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            text = str(value).lower()
            if text in ("true", "1", "yes", "y", "si", "sí"):
                return True
            if text in ("false", "0", "no", "n"):
                return False
            raise FieldError(self.name, self.column, raw, "true or false")
        if kind == "code":
            text = self._number_text(value)
            if isinstance(value, float) and value.is_integer():
                text = str(int(value))
            if not _DIGITS.fullmatch(text):
                raise FieldError(self.name, self.column, raw, "a numeric code (digits only)")
            if self.width:
                if len(text) > self.width:
                    raise FieldError(self.name, self.column, raw, f"a code of at most {self.width} digits")
                text = text.zfill(self.width)
            return text
        if kind in ("date", "datetime"):
            return self._when(value, raw, kind)
        number = self._number(value, raw, self.column)
        self._check_bounds(number, raw)
        return number * self.scale if self.scale != 1.0 else number

    def _number(self, value, raw, column: str | None) -> int | float:
        """A cell as the rule's number (``integer`` or ``real``), separators as declared."""
        kind = self.parse
        if isinstance(value, bool):
            raise FieldError(self.name, column, raw, "a number")
        text = self._number_text(value)
        if not isinstance(value, (int, float)) and not _NUMBER.fullmatch(text):
            raise FieldError(self.name, column, raw,
                             "an integer" if kind == "integer" else "a number")
        if kind == "integer" and isinstance(value, str) and re.fullmatch(r"[+-]?\d+", text):
            number = int(text)  # exactly, whatever its size (float would round above 2**53)
        else:
            number = float(text)
        if kind == "integer":
            if isinstance(number, float) and not number.is_integer():
                raise FieldError(self.name, column, raw, "an integer")
            number = int(number)
            if not -2**63 <= number < 2**63:
                raise FieldError(self.name, column, raw, "a whole number of at most 18 digits")
        return number

    def _check_bounds(self, number, raw, where: str | None = None) -> None:
        """``min`` and ``max`` of the rule."""
        lo, hi = self.min, self.max
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise FieldError(self.name, self.column, raw, f"a value from {lo:g} to {hi:g}"
                             if lo is not None and hi is not None else
                             (f"at least {lo:g}" if lo is not None else f"at most {hi:g}"),
                             where=where)

    def _computed(self, props: dict[str, Any]) -> int | float | None:
        """``compute``: the sum of the columns, or the first less the others; null when an
        operand is empty; ``min``/``max`` bound the result."""
        op, columns = self.compute
        numbers = []
        for column in columns:
            value = self._cell(props, column)
            if value is None:
                if self.required:
                    raise FieldError(self.name, column, props.get(column), "a value (the field "
                                     f"is required, and is computed from {', '.join(columns)})")
                return None
            numbers.append(self._number(value, props.get(column), column))
        result = sum(numbers) if op == "sum" else numbers[0] - sum(numbers[1:])
        where = "columns " + _OP_SIGN[op].join(repr(c) for c in columns)
        shown = _OP_SIGN[op].join(map(_shown, numbers)) + f" = {_shown(result)}"
        self._check_bounds(result, shown, where)
        return result * self.scale if self.scale != 1.0 else result

    def _part(self, part: str, column: str, value, raw) -> int:
        """One part of a date: a whole number, a year within the rule's bounds (default
        1000–2100), a month 1–12, a day 1–31."""
        lo, hi = ((max(self.min if self.min is not None else PART_YEARS[0], 1),
                   min(self.max if self.max is not None else PART_YEARS[1], 9999))
                  if part == "year" else (1, 12 if part == "month" else 31))
        text = str(value).strip() if not isinstance(value, bool) else ""
        number = int(float(text)) if _WHOLE.fullmatch(text) else None
        if number is None or not lo <= number <= hi:
            raise FieldError(self.name, column, raw, f"a {part} from {lo:g} to {hi:g}")
        return number

    def _from_parts(self, props: dict[str, Any]) -> DateParts | None:
        """``parts``: the date as far as its year, month and day columns know it. A part
        without the larger ones (a day without its month) dates nothing and is refused, as
        is a day the month does not have."""
        got: dict[str, int | None] = {}
        for part in DATE_PARTS:
            column = self.parts.get(part)
            value = self._cell(props, column) if column else None
            got[part] = None if value is None else self._part(part, column, value,
                                                                props.get(column))
        for small, large in (("month", "year"), ("day", "month")):
            if got[small] is not None and got[large] is None:
                column = self.parts[small]
                raise FieldError(self.name, column, props.get(column), f"the {large} too: a "
                                 f"{small} without its {large} dates nothing (column "
                                 f"{self.parts[large]!r} is empty)")
        year, month, day = got["year"], got["month"], got["day"]
        if self.complete and year is not None and day is None:
            missing = "month" if month is None else "day"
            column = self.parts.get(missing)
            raise FieldError(self.name, column or self.parts["year"], props.get(
                column or self.parts["year"]), f"a whole date with its {missing}: only one "
                "date of a record keeps a year-only or year-month precision (in its year and "
                "month fields), and it is another field's")
        if day is not None and day > calendar.monthrange(year, month)[1]:
            column = self.parts["day"]
            raise FieldError(self.name, column, props.get(column), f"a day that {year}-"
                             f"{month:02d} has (1 to {calendar.monthrange(year, month)[1]})")
        if year is None:
            if self.required:
                column = self.parts["year"]
                raise FieldError(self.name, column, props.get(column),
                                 "a year at least (the field is required)")
            return None
        return DateParts(year, month, day)


def _shown(number: int | float) -> str:
    """A number as a person writes it: ``1204``, ``2.5`` (not ``1.204e+03``)."""
    return str(number) if isinstance(number, int) else f"{number:.15g}"


def from_serial(serial: float) -> dt.datetime | None:
    """A spreadsheet date serial (1900 date system) → datetime; None if out of range.

    Serial 1 is 1900-01-01; serial 60 is the 1900-02-29 that Lotus 1-2-3 and Excel count but
    that did not exist, so serials from 61 on count from 1899-12-30.

    >>> from_serial(45000.5)
    datetime.datetime(2023, 3, 15, 12, 0)
    """
    if not (1 <= serial < 2958466) or int(serial) == 60 or serial != serial:
        return None
    base = dt.datetime(1899, 12, 30) if serial >= 61 else dt.datetime(1899, 12, 31)
    return base + dt.timedelta(days=serial)
