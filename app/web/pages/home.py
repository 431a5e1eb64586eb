"""GET /: the signed-in person's start page: the pages of their work, in plain words."""

from starlette.responses import Response

from app.web.view import EVERYONE, Page, View

DESCRIPTIONS = {
    "/students": "Find a student you look after and see their record.",
    "/portal": "The students you direct or supervise, and what they agreed to share.",
    "/lodge": "Lodge alerts, and a form to report an incident.",
    "/me": "Your own record, your consents, and who has looked at your record.",
    "/concern": "Tell the Welfare Team you are worried about a student.",
    "/reports": "Anonymised figures about welfare work in the College.",
    "/alerts": "What needs your attention: concerns, incidents and changes about your students.",
    "/audit": "Who read or changed what, and a check that the trail is intact.",
}


async def start(view: View) -> Response:
    tasks = [
        (path, title, DESCRIPTIONS.get(path, ""))
        for path, title in view.render_nav()
        if path != "/"
    ]
    return view.render("home.html", tasks=tasks)


PAGES = [Page("/", "Start", EVERYONE, start)]
