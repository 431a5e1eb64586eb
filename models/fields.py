"""The range of every value a record may hold, defined once for the importer and the API.

A value outside its range is refused where it enters (a dataset record, a mutation's
input), naming the field; nothing outside these ranges is ever written, so no read of a
stored record can fail on it. Pure functions and constants: no database.
"""

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

# ---- text: the longest value of each field (characters) ---------------------------------
MAX_USERNAME = 64  # also a crsid: a student's username is their crsid
MAX_CRSID = 64
MAX_NAME = 200  # a user's displayName, a student's name
MAX_COURSE = 200
MAX_ROOM = 100
MAX_EMERGENCY_CONTACT = 500
MAX_LODGE_ALERT = 2000
MAX_SUMMARY = 500
MAX_BODY = 20_000
MAX_RECIPIENT = 500  # a consent's recipientDescription, a disclosure's recipient
MAX_JUSTIFICATION = 5_000
MAX_INFORMATION_SHARED = 5_000
MAX_CONCERN = 20_000
MAX_REF = 64  # a consent's ref in a dataset
MAX_ID = 64  # an id given as input (UUIDs are 36)

# ---- whole numbers ------------------------------------------------------------------------
YEAR_OF_STUDY = (1, 10)

# ---- times --------------------------------------------------------------------------------
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)  # exclusive: a future expiry or shift ends before
CLOCK_SKEW = timedelta(minutes=5)  # a past event may be stamped this far ahead of our clock


class When(StrEnum):
    """Whether a time is of an event that already happened (a note written, a consent
    granted or revoked, a disclosure made), or one that may lie ahead (an expiry, a shift)."""

    PAST = "past"
    ANY = "any"


def text_problem(value: str, limit: int) -> str | None:
    """Why `value` cannot be stored as text, or None. Every string must be valid Unicode
    (no lone surrogate, which no database can store) with no NUL character, and at most
    `limit` characters long."""
    if len(value) > limit:
        return f"is {len(value)} characters long; shorten it to at most {limit}"
    if "\x00" in value:
        return "contains a NUL character (\\u0000); remove it"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(value[exc.start])
        return (
            f"is not valid Unicode: a lone surrogate (\\u{code:04x}) at character "
            f"{exc.start}; send the character it was meant to be"
        )
    return None


def year_problem(value: int) -> str | None:
    low, high = YEAR_OF_STUDY
    if not low <= value <= high:
        return f"must be a year of study from {low} to {high}, got {_short(value)}"
    return None


def time_problem(moment: datetime, when: When, now: datetime) -> str | None:
    """Why an aware `moment` is out of range, or None: from 1900-01-01 to `now` plus a
    small clock skew for an event that already happened, before 2100 otherwise."""
    if moment < EARLIEST:
        return f"is before {EARLIEST.date().isoformat()}; check the year"
    if when is When.PAST and moment > now + CLOCK_SKEW:
        return (
            f"is in the future (now is {now.replace(microsecond=0).isoformat()}); "
            "this records something that already happened: check the date"
        )
    if moment >= LATEST:
        return f"is not before {LATEST.date().isoformat()}; check the year"
    return None


def day_problem(day: date, today: date) -> str | None:
    """Why a day that already came (a student's leaving date) is out of range, or None:
    from 1900-01-01 to `today`."""
    if day < EARLIEST.date():
        return f"is before {EARLIEST.date().isoformat()}; check the year"
    if day > today:
        return (
            f"is in the future (today is {today.isoformat()}); "
            "give the day the student left, once they have left"
        )
    return None


def _short(value: int) -> str:
    if abs(value) >= 10**20:  # str() of a huge int costs time (and fails past 4300 digits)
        return "a number of more than 20 digits"
    return str(value)
