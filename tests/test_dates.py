"""Tests for feedconv.readers.dates: the case table in data/dates.txt plus properties."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedconv.readers.dates import format_rfc3339, parse_date

CASES_FILE = Path(__file__).parent / "data" / "dates.txt"
LOGGER = "feedconv.readers.dates"


def _load_cases() -> list[pytest.param]:
    """``<input> => <YYYY-MM-DD HH:MM:SS[.ffffff]> <offset minutes>`` or ``=> None``."""
    cases = []
    for number, line in enumerate(CASES_FILE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        text, arrow, expected = line.rpartition(" => ")
        assert arrow, f"{CASES_FILE.name}:{number}: no ' => ' in {line!r}"
        if expected.strip() == "None":
            want = None
        else:
            fields, _, minutes = expected.strip().rpartition(" ")
            fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in fields else "%Y-%m-%d %H:%M:%S"
            want = (datetime.strptime(fields, fmt), int(minutes))
        cases.append(pytest.param(text.strip(), want, id=f"{number}:{text.strip()}"))
    return cases


CASES = _load_cases()


def test_case_table_is_broad() -> None:
    assert len(CASES) >= 60
    assert sum(case.values[1] is None for case in CASES) >= 20


@pytest.mark.parametrize(("text", "want"), CASES)
def test_parse_date_table(text: str, want: tuple[datetime, int] | None) -> None:
    got = parse_date(text)
    if want is None:
        assert got is None
        return
    assert got is not None
    naive, minutes = want
    assert got.utcoffset() == timedelta(minutes=minutes)
    assert got.replace(tzinfo=None) == naive


# --- offsets are kept, not converted -------------------------------------------------


def test_offset_is_preserved_not_converted() -> None:
    got = parse_date("Tue, 10 Jun 2003 04:00:00 -0700")
    assert got is not None
    assert (got.hour, got.utcoffset()) == (4, timedelta(hours=-7))
    assert got == datetime(2003, 6, 10, 11, 0, tzinfo=UTC)  # same instant


def test_same_instant_in_every_notation() -> None:
    texts = [
        "Tue, 10 Jun 2003 04:00:00 PDT",
        "2003-06-10T04:00:00-07:00",
        "20030610T040000-0700",
        "Tue Jun 10 04:00:00 PDT 2003",
        "2003-06-10T11:00:00Z",
        "10 Jun 2003 13:00 +0200",
    ]
    parsed = [parse_date(text) for text in texts]
    assert all(dt is not None for dt in parsed)
    assert len(set(parsed)) == 1
    assert {dt.utcoffset() for dt in parsed if dt is not None} == {
        timedelta(hours=-7),
        timedelta(0),
        timedelta(hours=2),
    }


def test_utc_results_use_the_utc_singleton() -> None:
    got = parse_date("2003-12-13T18:30:02Z")
    assert got is not None and got.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "  Tue, 10 Jun 2003 04:00:00 GMT  ",
        "Tue,\t10 Jun\n2003  04:00:00\u00a0GMT",
        "\n2003-06-10\n",
    ],
)
def test_whitespace_is_normalised(text: str) -> None:
    got = parse_date(text)
    assert got is not None and got.date() == datetime(2003, 6, 10).date()


def test_non_ascii_digits_are_not_digits() -> None:
    assert parse_date("٢٠٠٣-١٢-١٣") is None


def test_weekday_need_not_agree_with_the_date() -> None:
    # 10 Jun 2003 was a Tuesday; feeds get this wrong and the date wins.
    got = parse_date("Fri, 10 Jun 2003 04:00:00 GMT")
    assert got == datetime(2003, 6, 10, 4, tzinfo=UTC)


# --- logging -------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_empty_is_none_and_silent(text: str | None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    assert parse_date(text) is None
    assert caplog.records == []


def test_unparseable_logs_debug_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    assert parse_date("the day after tomorrow") is None
    assert [(r.levelno, "the day after tomorrow" in r.getMessage()) for r in caplog.records] == [
        (logging.DEBUG, True)
    ]


@pytest.mark.parametrize(
    "text", ["0000-01-01T00:00:00Z", "9999-12-31", "Tue, 10 Jun 0003 04:00:00 GMT", "2201"]
)
def test_implausible_year_warns(text: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    assert parse_date(text) is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "implausible date" in message and "ignored" in message and repr(text) in message


def test_unknown_zone_logs_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    assert parse_date("Tue, 10 Jun 2003 04:00:00 XYZ") == datetime(2003, 6, 10, 4, tzinfo=UTC)
    assert any(r.levelno == logging.DEBUG and "XYZ" in r.getMessage() for r in caplog.records)


def test_overlong_input_is_rejected_quickly() -> None:
    assert parse_date("Tue, 10 Jun 2003 04:00:00 GMT" + " " * 10_000 + "x" * 10_000) is None
    assert parse_date("1" * 100_000) is None


# --- format_rfc3339 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dt", "want"),
    [
        (
            datetime(2003, 12, 13, 18, 30, 2, tzinfo=timezone(timedelta(hours=-7))),
            "2003-12-13T18:30:02-07:00",
        ),
        (datetime(2003, 12, 13, 18, 30, 2, 999999, tzinfo=UTC), "2003-12-13T18:30:02+00:00"),
        (
            datetime(2003, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            "2003-01-02T03:04:05+05:30",
        ),
        (
            datetime(2003, 1, 2, 3, 4, 5, tzinfo=timezone(-timedelta(hours=9, minutes=30))),
            "2003-01-02T03:04:05-09:30",
        ),
        (datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), "0999-01-02T03:04:05+00:00"),
        # an offset with seconds cannot be written: the same instant in UTC
        (
            datetime(1900, 1, 1, 12, 0, 0, tzinfo=timezone(timedelta(minutes=19, seconds=32))),
            "1900-01-01T11:40:28+00:00",
        ),
    ],
)
def test_format_rfc3339(dt: datetime, want: str) -> None:
    assert format_rfc3339(dt) == want


def test_format_rfc3339_refuses_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_rfc3339(datetime(2003, 12, 13))


# --- properties ----------------------------------------------------------------------

_TOKENS = st.sampled_from(
    [
        "Tue,", "Tue", ",", "10", "Jun", "June", "2003", "03", "0", "99999", "04:00:00",
        "4:00", "23:59:60", "PM", "-0700", "+02:00", "GMT", "Z", "T", "-", ":", "(PDT)",
        "(", ")", "2003-12-13T18:30:02Z", "2003-12", "20031213", "T1830", ".5", "XYZ",
        "24:00", "2003-366", "\u00a0", "\x00", "é", "٣",
    ]
)  # fmt: skip


def _check(got: datetime | None) -> None:
    assert got is None or (isinstance(got, datetime) and got.utcoffset() is not None)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text())
def test_never_raises_on_any_text(text: str) -> None:
    _check(parse_date(text))


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(_TOKENS, max_size=8).map(" ".join) | st.lists(_TOKENS, max_size=8).map("".join))
def test_never_raises_on_date_like_text(text: str) -> None:
    _check(parse_date(text))


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.datetimes(
        min_value=datetime(1900, 1, 2),
        max_value=datetime(2200, 12, 30),
        timezones=st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
            lambda minutes: timezone(timedelta(minutes=minutes))
        ),
    )
)
def test_format_then_parse_round_trips(dt: datetime) -> None:
    got = parse_date(format_rfc3339(dt))
    assert got is not None
    assert got == dt.replace(microsecond=0)
    assert got.utcoffset() == dt.utcoffset()
