"""Dates as feeds write them → timezone-aware datetimes that keep the feed's offset.

One entry point, :func:`parse_date`, tries a short table of compiled patterns (RFC 822 /
2822 and its real-world variants, RFC 3339 / W3CDTF / ISO 8601 in extended and basic
form, asctime and Unix ``date`` output, "Dec 13, 2003"). Every pattern captures the same
named groups, and one builder turns the groups into a datetime, so a new variant is one
more row in ``_FORMATS``. Names (months, weekdays, zones) are looked up in tables.

Decisions, in the order a reader will wonder about them:

- The offset the feed gave is kept (``-0700`` stays UTC-07:00). No zone → UTC; no time
  → midnight UTC.
- Two-digit years follow RFC 2822 §4.3: 00-49 → 20xx, 50-99 → 19xx; three-digit years
  add 1900. ISO forms need four digits.
- Years outside 1900..2200 are not trusted: ``None`` plus a warning naming the string.
- Invalid calendar values (Feb 30, hour 25, offset +25:00) → ``None``. A leap second
  (``:60``) becomes ``:59``; ISO ``24:00`` is the next midnight.
- A weekday, when present, must be a weekday name but need not agree with the date
  (feeds often get it wrong; the date wins).
- Zone names: the usual North American, European and Asia-Pacific abbreviations in
  ``_ZONES``. ``CST`` and ``IST`` are ambiguous; as in RFC 822 and most feed software,
  ``CST`` is US Central and ``IST`` is India (+05:30). An alphabetic zone we do not know
  counts as UTC (RFC 2822 §4.3: unknown zones are ``-0000``), with a debug line.
- Military single-letter zones follow feedparser: ``Z`` = UTC, and ``A`` -1h, ``M``
  -12h, ``N`` +1h, ``Y`` +12h as RFC 822 literally lists them; every other letter is
  +0000, as RFC 1123 §5.2.14 advises because RFC 822 got the signs backwards. ``J``
  ("local time") is an unknown zone, hence UTC.
- When two zones are given (``+0000 GMT``), the first one we can read wins.
- Parenthesised comments (``(PST)``) are dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["format_rfc3339", "parse_date"]

logger = logging.getLogger(__name__)

MIN_YEAR = 1900
MAX_YEAR = 2200
_MAX_LENGTH = 200  # longer strings are not dates; keeps every match cheap

# --- name tables --------------------------------------------------------------------


def _prefix_table(names: tuple[str, ...], shortest: int = 3) -> dict[str, int]:
    """Every prefix of each name (at least ``shortest`` long) → its 1-based index."""
    return {
        name[:size]: index
        for index, name in enumerate(names, start=1)
        for size in range(shortest, len(name) + 1)
    }


_MONTHS = _prefix_table(
    (
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    )
)
_WEEKDAYS = _prefix_table(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    shortest=2,
)

# Zone name → offset in minutes east of UTC.
_ZONES: Mapping[str, int] = {
    # universal
    "ut": 0,
    "utc": 0,
    "gmt": 0,
    "z": 0,
    "wet": 0,
    # North America (RFC 822 names plus Atlantic, Alaska, Hawaii, feedparser's generic ones)
    "ast": -4 * 60,
    "adt": -3 * 60,
    "at": -4 * 60,
    "est": -5 * 60,
    "edt": -4 * 60,
    "et": -5 * 60,
    "cst": -6 * 60,
    "cdt": -5 * 60,
    "ct": -6 * 60,
    "mst": -7 * 60,
    "mdt": -6 * 60,
    "mt": -7 * 60,
    "pst": -8 * 60,
    "pdt": -7 * 60,
    "pt": -8 * 60,
    "akst": -9 * 60,
    "akdt": -8 * 60,
    "hst": -10 * 60,
    # Europe
    "bst": 60,
    "ist": 5 * 60 + 30,  # India; Irish Summer Time loses, as in most feed software
    "west": 60,
    "cet": 60,
    "cest": 2 * 60,
    "met": 60,
    "mest": 2 * 60,
    "eet": 2 * 60,
    "eest": 3 * 60,
    "msk": 3 * 60,
    # Asia-Pacific
    "hkt": 8 * 60,
    "sgt": 8 * 60,
    "awst": 8 * 60,
    "jst": 9 * 60,
    "kst": 9 * 60,
    "acst": 9 * 60 + 30,
    "acdt": 10 * 60 + 30,
    "aest": 10 * 60,
    "aedt": 11 * 60,
    "nzst": 12 * 60,
    "nzdt": 13 * 60,
    # Military letters: feedparser's table (see module docstring); "j" stays unknown.
    **{letter: 0 for letter in "bcdefghiklopqrstuvwx"},
    "a": -60,
    "m": -12 * 60,
    "n": 60,
    "y": 12 * 60,
}

# --- patterns -----------------------------------------------------------------------


def _zone(group: str) -> str:
    """A zone: ``+0200``, ``+02:00``, ``-5``, ``GMT+2``, ``UTC-05:00`` or a name."""
    return rf"(?P<{group}>(?:gmt|utc?)?[+-]\d{{1,2}}(?::?\d{{2}})?|[a-z]{{1,5}})"


_WDAY = r"(?:(?P<wday>[a-z]{2,9})(?=[.,\s])\.?[\s,]*)?"  # a weekday ends at a separator
_MON = r"(?P<mon>[a-z]{3,9})\.?"
_TIME = (
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?"
    r"(?:\s*(?P<ampm>[ap])\.?m\.?)?"
)
_ZONES_TAIL = rf"(?:\s*{_zone('tz')}(?:\s*{_zone('tz2')})?)?"

_FLAGS = re.ASCII | re.IGNORECASE | re.VERBOSE

# (name, pattern); tried in order, each against the whole normalised string.
_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        # 2003-12-13T18:30:02.25+01:00, 2003-12-13 18:30, 2003-12, 2003, 2003-347,
        # 2003/12/13 18:30:02 (the same separator twice)
        "iso-extended",
        re.compile(
            rf"""
            (?P<year>\d{{4}})
            (?: -(?P<yday>\d{{3}})
              | (?P<sep>[-/])(?P<month>\d{{1,2}})(?:(?P=sep)(?P<day>\d{{1,2}}))? )?
            (?: (?:t|\s+)
                (?P<hour>\d{{1,2}}):(?P<minute>\d{{2}})
                (?::(?P<second>\d{{2}})(?:[.,](?P<fraction>\d{{1,9}}))?)? )?
            (?:\s*{_zone("tz")})?
            """,
            _FLAGS,
        ),
    ),
    (
        # 20031213T183002Z, 20031213T1830+0100, 20031213, 2003347
        "iso-basic",
        re.compile(
            rf"""
            (?P<year>\d{{4}})
            (?: (?P<yday>\d{{3}}) | (?P<month>\d{{2}})(?P<day>\d{{2}}) )
            (?: t(?P<hour>\d{{2}})(?P<minute>\d{{2}})
                (?:(?P<second>\d{{2}})(?:[.,](?P<fraction>\d{{1,9}}))?)? )?
            (?:\s*{_zone("tz")})?
            """,
            _FLAGS,
        ),
    ),
    (
        # RFC 822/2822/850 and kin: Tue,, 10 Jun 2003 4:00 -0700, Sunday, 06-Nov-94 ...
        "day-month-year",
        re.compile(
            rf"""
            {_WDAY}
            (?P<day>\d{{1,2}})[\s-]+{_MON}[\s,-]+(?P<year>\d{{2,4}})
            (?:[\s,]+{_TIME})?
            {_ZONES_TAIL}
            """,
            _FLAGS,
        ),
    ),
    (
        # Dec 13, 2003; Tue, Dec 13 2003 18:30:02 GMT+0000 (JavaScript Date)
        "month-day-year",
        re.compile(
            rf"""
            {_WDAY}
            {_MON}[\s-]+(?P<day>\d{{1,2}})[\s,-]+(?P<year>\d{{2,4}})
            (?:[\s,]+{_TIME})?
            {_ZONES_TAIL}
            """,
            _FLAGS,
        ),
    ),
    (
        # asctime: Sun Nov  6 08:49:37 1994; Unix date / Twitter: Tue Jun 10 04:00:00 PDT 2003
        "asctime",
        re.compile(
            rf"""
            {_WDAY}
            {_MON}\s+(?P<day>\d{{1,2}})\s+{_TIME}
            (?:\s+{_zone("tz")})?
            \s+(?P<year>\d{{4}})
            (?:\s*{_zone("tz2")})?
            """,
            _FLAGS,
        ),
    ),
)

_COMMENT = re.compile(r"\([^()]*\)")
_OFFSET = re.compile(r"(?:gmt|utc?)?([+-])(\d{1,2})(?::?(\d{2}))?", re.ASCII | re.IGNORECASE)


class _Reject(Exception):
    """Internal: the groups matched but do not make a usable date."""


# --- public API ---------------------------------------------------------------------


def parse_date(text: str | None) -> datetime | None:
    """Parse a feed date into an aware datetime with the feed's own UTC offset.

    Returns ``None`` for empty, unparseable or implausible input; never raises.
    """
    if text is None or not text.strip():
        return None
    normalised = " ".join(_COMMENT.sub(" ", text).split())
    if len(normalised) <= _MAX_LENGTH:
        for _name, pattern in _FORMATS:
            match = pattern.fullmatch(normalised)
            if match is None:
                continue
            try:
                return _build(match.groupdict(), text)
            except _Reject:
                continue
    logger.debug("unparseable date %.100r", text)
    return None


def format_rfc3339(dt: datetime) -> str:
    """``2003-12-13T18:30:02-07:00``: seconds precision, ``+00:00`` for UTC.

    Offsets that are not whole minutes (historic local mean time) cannot be written in
    RFC 3339, so such datetimes are written in UTC (the same instant).
    """
    offset = dt.utcoffset()
    if offset is None:
        raise ValueError(f"naive datetime {dt!r} has no offset to write")
    if offset % timedelta(minutes=1):
        dt, offset = dt.astimezone(UTC), timedelta(0)
    minutes = offset // timedelta(minutes=1)
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}"
        f"T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}{sign}{hours:02d}:{minutes:02d}"
    )


# --- building -----------------------------------------------------------------------


def _build(groups: dict[str, str | None], text: str) -> datetime | None:
    """Turn one pattern's named groups into a datetime, or raise :class:`_Reject`."""
    year = _year(groups["year"])
    if not MIN_YEAR <= year <= MAX_YEAR:
        logger.warning(
            "implausible date %.100r ignored (year %d outside %d..%d)",
            text,
            year,
            MIN_YEAR,
            MAX_YEAR,
        )
        return None

    wday = groups.get("wday")
    if wday is not None and wday.lower() not in _WEEKDAYS:
        raise _Reject

    hour, minute, second, micro = _time(groups)
    if groups.get("hour") is not None and groups.get("day") is None and not groups.get("yday"):
        raise _Reject  # a time needs a full date ("2003-12T10:00")

    offset = _offset(
        groups.get("tz"), groups.get("tz2"), text, timed=groups.get("hour") is not None
    )
    try:
        tz = timezone(timedelta(minutes=offset)) if offset else UTC
        if yday := groups.get("yday"):
            start = datetime(year, 1, 1, tzinfo=tz)
            base = start + timedelta(days=int(yday) - 1)
            if base.year != year:  # day 000 or day 366 of a common year
                raise _Reject
        else:
            base = datetime(year, _month(groups), int(groups.get("day") or 1), tzinfo=tz)
        extra = timedelta(0)
        if hour == 24:  # ISO 8601: 24:00 is the end of the day
            if minute or second or micro:
                raise _Reject
            hour, extra = 0, timedelta(days=1)
        return base.replace(hour=hour, minute=minute, second=second, microsecond=micro) + extra
    except (ValueError, OverflowError) as exc:
        raise _Reject from exc


def _year(digits: str | None) -> int:
    if digits is None:
        raise _Reject
    year = int(digits)
    if len(digits) == 2:  # RFC 2822 §4.3
        return year + (2000 if year < 50 else 1900)
    if len(digits) == 3:
        return year + 1900
    return year


def _month(groups: dict[str, str | None]) -> int:
    if (name := groups.get("mon")) is not None:
        month = _MONTHS.get(name.lower())
        if month is None:
            raise _Reject
        return month
    return int(groups.get("month") or 1)


def _time(groups: dict[str, str | None]) -> tuple[int, int, int, int]:
    hour = int(groups.get("hour") or 0)
    minute = int(groups.get("minute") or 0)
    second = min(int(groups.get("second") or 0), 59)  # a leap second keeps its minute
    micro = int(((groups.get("fraction") or "") + "000000")[:6])
    if (ampm := groups.get("ampm")) is not None:
        if not 1 <= hour <= 12:
            raise _Reject
        hour = hour % 12 + (12 if ampm.lower() == "p" else 0)
    return hour, minute, second, micro


def _offset(first: str | None, second: str | None, text: str, *, timed: bool) -> int:
    """Minutes east of UTC from up to two zone tokens; the first readable one wins.

    An unknown name after a time is a zone we do not know (UTC); after a bare date it is
    more likely a stray word ("2003 Dec"), so the date is rejected.
    """
    unknown = None
    for token in (first, second):
        if token is None:
            continue
        if (match := _OFFSET.fullmatch(token)) is not None:
            sign, hours, minutes = match.groups()
            if int(hours) > 23 or int(minutes or 0) > 59:
                raise _Reject
            total = int(hours) * 60 + int(minutes or 0)
            return -total if sign == "-" else total
        if (known := _ZONES.get(token.lower())) is not None:
            return known
        unknown = unknown or token
    if unknown is not None:
        if not timed:
            raise _Reject
        logger.debug("unknown time zone %r in date %.100r, assuming UTC", unknown, text)
    return 0
