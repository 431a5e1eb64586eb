"""The Reports page's parts that need no request: reading the form's parameters, turning
the API's `statistics` answer into tables with a bar chart each (SVG drawn here, the
table its text alternative), and the CSV download's lines.

A suppressed cell is shown as words and drawn as no bar; it never carries a number."""

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

MEASURES: dict[str, str] = {
    "NOTES": "Notes written",
    "STUDENTS_WITH_NOTES": "Students with notes",
    "FLAGGED_STUDENTS": "Students with the welfare flag",
    "DISCLOSURES": "Disclosures",
    "ACTIVE_CONSENTS": "Active consents",
}
DIMENSIONS: dict[str, str] = {
    "CATEGORY": "Note category",
    "YEAR_OF_STUDY": "Year of study",
    "MONTH": "Month",
    "BASIS": "Basis of disclosure",
    "COURSE": "Course",
}
ROW_KEY = {  # the StatisticsRow field of each dimension
    "CATEGORY": "category",
    "YEAR_OF_STUDY": "yearOfStudy",
    "MONTH": "month",
    "BASIS": "basis",
    "COURSE": "course",
}
NOT_SHOWN = "Not shown"
FIELDS = ("measure", "by", "then_by", "from", "to")
MAX_PARAMETER = 40
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# The chart's geometry (SVG user units).
CHART_WIDTH = 640
LABEL_WIDTH = 220
BAR_SPACE = 330
ROW_HEIGHT = 28
BAR_HEIGHT = 18
LABEL_CHARACTERS = 30


@dataclass
class Request:
    """The form's parameters, checked: what the API is asked, or the form's errors."""

    values: dict[str, str]
    measure: str = "NOTES"
    group_by: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def variables(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "groupBy": self.group_by,
            "from": None if self.start is None else self.start.isoformat(),
            "to": None if self.end is None else self.end.isoformat(),
        }


def default_values(today: date) -> dict[str, str]:
    """Notes by category over the last twelve months (this one included)."""
    month = today.month - 11
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return {
        "measure": "NOTES",
        "by": "CATEGORY",
        "then_by": "",
        "from": date(year, month, 1).isoformat(),
        "to": today.isoformat(),
    }


def _day(text: str) -> date:
    if len(text) != 10:
        raise ValueError(text)
    return date.fromisoformat(text)


def read_request(params: dict[str, str]) -> Request:
    values = {name: params.get(name, "").strip()[:MAX_PARAMETER] for name in FIELDS}
    asked = Request(values)
    if values["measure"] in MEASURES:
        asked.measure = values["measure"]
    else:
        asked.errors["measure"] = "Choose what to count"
    for name in ("by", "then_by"):
        if values[name] and values[name] not in DIMENSIONS:
            asked.errors[name] = "Choose a grouping from the list"
    asked.group_by = [values[n] for n in ("by", "then_by") if values[n] in DIMENSIONS]
    if values["then_by"] and values["then_by"] == values["by"] and "then_by" not in asked.errors:
        asked.errors["then_by"] = "Choose a second grouping that differs from the first"
    for name in ("from", "to"):
        if not values[name]:
            continue
        try:
            moment = datetime.combine(_day(values[name]), datetime.min.time(), UTC)
        except ValueError:
            asked.errors[name] = "Enter a real date as year-month-day, for example 2026-11-30"
            continue
        if name == "from":
            asked.start = moment
        else:
            asked.end = moment
    return asked


def field_of(message: str, asked: Request) -> str:
    """The form field a BAD_USER_INPUT message of `statistics` is about."""
    if message.startswith("'to'"):
        return "to"
    if message.startswith("'from'") or "'from'" in message or "MONTH table" in message:
        return "from"
    if "names a dimension twice" in message:
        return "then_by"
    if "cannot be grouped by" in message:
        named = message.split("cannot be grouped by", 1)[1].split(":", 1)[0].strip()
        return "then_by" if asked.values.get("then_by") == named else "by"
    if message.startswith("groupBy"):
        return "by"
    return "measure"


# ---------------------------------------------------------------------------- the tables


def key_text(dimension: str, key: object) -> str:
    if key is None:
        return "Not recorded"
    if dimension == "YEAR_OF_STUDY":
        return f"Year {key}"
    if dimension == "MONTH":
        year, month = str(key).split("-")
        return f"{calendar.month_name[int(month)]} {year}"
    if dimension in ("CATEGORY", "BASIS"):
        text = str(key).replace("_", " ").lower()
        return text[:1].upper() + text[1:]
    return str(key)


@dataclass
class Bar:
    label: str  # in the chart, shortened
    value_text: str
    y: int
    width: int
    suppressed: bool


@dataclass
class Section:
    heading: str  # "" for a table of the whole result
    caption: str
    column: str  # the header of the key column
    rows: list[tuple[str, int | None, bool]]  # key text, value, suppressed
    chart_id: str
    chart_title: str
    bars: list[Bar]
    height: int


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARACTERS else text[: LABEL_CHARACTERS - 1] + "…"


def _chart(rows: list[tuple[str, int | None, bool]]) -> tuple[list[Bar], int]:
    largest = max([v for _, v, s in rows if v is not None and not s] + [1])
    bars = []
    for index, (label, value, suppressed) in enumerate(rows):
        shown = value is not None and not suppressed
        width = round(BAR_SPACE * value / largest) if shown and value is not None else 0
        bars.append(
            Bar(
                _short(label),
                str(value) if shown else NOT_SHOWN.lower(),
                index * ROW_HEIGHT + 6,
                width,
                not shown,
            )
        )
    return bars, len(rows) * ROW_HEIGHT + 12


def window_text(answer: dict[str, Any]) -> str:
    start, end = answer.get("from"), answer.get("to")
    if start is None and end is None:
        return "now" if answer["measure"] == "FLAGGED_STUDENTS" else "all dates"
    first = "" if start is None else _long_day(datetime.fromisoformat(start))
    last = "" if end is None else _long_day(datetime.fromisoformat(end) - timedelta(days=1))
    if not first:
        return f"up to {last}"
    if not last:
        return f"from {first}"
    return f"{first} to {last}"


def _long_day(moment: datetime) -> str:
    return f"{moment.day} {calendar.month_name[moment.month]} {moment.year}"


def title_of(answer: dict[str, Any]) -> str:
    dims = [DIMENSIONS[d].lower() for d in answer["groupBy"]]
    by = f", by {' and '.join(dims)}" if dims else ""
    return f"{MEASURES.get(answer['measure'], answer['measure'])}{by}, {window_text(answer)}"


def sections(answer: dict[str, Any]) -> list[Section]:
    """One table (and chart) for a table with no grouping or one; for two groupings, one
    per key of the second, listing the keys of the first."""
    dims: list[str] = list(answer["groupBy"])
    title = MEASURES.get(answer["measure"], answer["measure"])
    when = window_text(answer)
    groups: dict[str, list[tuple[str, int | None, bool]]] = {}
    for row in answer["rows"]:
        heading = ""
        if len(dims) == 2:
            heading = f"{DIMENSIONS[dims[1]]}: {key_text(dims[1], row[ROW_KEY[dims[1]]])}"
        label = key_text(dims[0], row[ROW_KEY[dims[0]]]) if dims else "Whole college"
        suppressed = bool(row["suppressed"]) or row["value"] is None
        groups.setdefault(heading, []).append(
            (label, None if suppressed else int(row["value"]), suppressed)
        )
    found = []
    for number, (heading, rows) in enumerate(groups.items(), start=1):
        by = f", by {DIMENSIONS[dims[0]].lower()}" if dims else ""
        caption = f"{title}{by}, {when}" + (f"; {heading.lower()}" if heading else "")
        bars, height = _chart(rows)
        found.append(
            Section(
                heading,
                caption,
                DIMENSIONS[dims[0]] if dims else "Group",
                rows,
                f"chart-{number}",
                f"Bar chart of the table: {caption}",
                bars,
                height,
            )
        )
    return found


# ---------------------------------------------------------------------------- CSV


def defused(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def csv_lines(answer: dict[str, Any]) -> list[list[str]]:
    """The lines of `needtoknow stats --csv`: the dimensions, value and suppressed; a
    suppressed cell's value is empty; the last line is the total (keys read TOTAL)."""
    dims: list[str] = list(answer["groupBy"])
    lines = [[d.lower() for d in dims] + ["value", "suppressed"]]
    for row in answer["rows"]:
        suppressed = bool(row["suppressed"]) or row["value"] is None
        keys = ["" if row[ROW_KEY[d]] is None else str(row[ROW_KEY[d]]) for d in dims]
        value = "" if suppressed else str(row["value"])
        lines.append([*keys, value, "true" if suppressed else "false"])
    total = answer.get("total")
    lines.append(
        ["TOTAL"] * len(dims)
        + ["" if total is None else str(total)]
        + ["true" if total is None else "false"]
    )
    return [[defused(cell) for cell in line] for line in lines]
