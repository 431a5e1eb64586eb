"""Reports: the anonymised statistics (ANALYST, SENIOR_TUTOR, DEPUTY_SENIOR_TUTOR) as
accessible tables, each with a bar chart drawn on the server, and the same table as a
CSV download. The parameters are enums and dates only, so the form uses GET: a report's
address can be kept and shared without carrying a name or any text typed by a person.

The page opens on notes by category over the last twelve months."""

import csv
import io
from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.responses import Response

from app.web.pages.report_tables import (
    DIMENSIONS,
    FIELDS,
    MEASURES,
    Request,
    csv_lines,
    default_values,
    field_of,
    read_request,
    sections,
    title_of,
)
from app.web.render import HEADERS
from app.web.view import Page, View

READERS = frozenset({"ANALYST", "SENIOR_TUTOR", "DEPUTY_SENIOR_TUTOR"})


def _asked(view: View) -> Request:
    params = view.request.query_params
    if not any(name in params for name in FIELDS):
        return read_request(default_values(datetime.now(UTC).date()))
    return read_request({name: params.get(name, "") for name in FIELDS})


async def _statistics(view: View, asked: Request) -> tuple[dict[str, object] | None, bool]:
    """The API's table, or None with the form's errors filled in; and whether refused."""
    if asked.errors:
        return None, False
    answer = await view.run("reports_statistics", asked.variables())
    if answer.forbidden:
        return None, True
    for message in answer.bad_input():
        asked.errors.setdefault(field_of(message, asked), message)
    if answer.data is None or asked.errors:
        if not asked.errors:
            asked.errors["measure"] = "These figures cannot be shown: try other choices"
        return None, False
    table: dict[str, object] = answer.data["statistics"]
    return table, False


def _page(view: View, asked: Request, table: dict[str, object] | None, refused: bool) -> Response:
    status = 403 if refused else 400 if asked.errors else 200
    return view.render(
        "reports.html",
        status=status,
        refused=refused,
        table=table,
        sections=[] if table is None else sections(table),
        title="" if table is None else title_of(table),
        measures=list(MEASURES.items()),
        dimensions=list(DIMENSIONS.items()),
        csv_query=urlencode(asked.values),
        errors=asked.errors,
        values=asked.values,
    )


async def reports(view: View) -> Response:
    asked = _asked(view)
    table, refused = await _statistics(view, asked)
    return _page(view, asked, table, refused)


async def reports_csv(view: View) -> Response:
    asked = _asked(view)
    table, refused = await _statistics(view, asked)
    if table is None:
        return _page(view, asked, None, refused)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(csv_lines(table))
    name = f"needtoknow-{asked.measure.lower()}"
    name += "".join(f"-by-{d.lower()}" for d in asked.group_by)
    headers = dict(HEADERS) | {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


PAGES = [
    Page("/reports", "Reports", READERS, reports),
    Page("/reports/csv", "", READERS, reports_csv),
]
