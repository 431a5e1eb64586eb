"""Issue 14: the frame every page stands on. The pages are a consumer of the API (no
import reaches the database or the policy; every document validates against the schema);
every route under the pages has a rule (a Page entry with the roles that may open it), so a
new page without one breaks this test; every page answers with the strict headers, asks
for sign-in without a session, and refuses a form without its CSRF token."""

import ast
from pathlib import Path
from typing import Any

import graphql
import pytest
from starlette.routing import Mount, Route, WebSocketRoute

from app.web import client
from app.web.routes import PAGES
from app.web.view import EVERYONE, Page, View
from schema.build import build_schema
from tests.web_support import ORIGIN, Site

WEB = Path(__file__).resolve().parent.parent / "app" / "web"
FORBIDDEN_IMPORTS = {"models", "authz", "resolvers", "sqlalchemy", "sqlmodel", "oso", "polar"}
NOT_PAGES = {"/graphql", "/healthz", "/readyz", "/sign-in", "/dev/sign-in"}  # and mounts
PERSONAS = [
    "st100",
    "jt101",
    "dt102",
    "wb200",
    "to300",
    "pl400",
    "dd201",
    "sv202",
    "hu500",
    "an600",
    "ab123",
]


def test_the_pages_import_nothing_that_reaches_the_database_or_the_policy() -> None:
    found: dict[str, set[str]] = {}
    for path in WEB.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            bad = {n.split(".")[0] for n in names} & FORBIDDEN_IMPORTS
            if bad:
                found[str(path.relative_to(WEB))] = bad
    assert not found, found


def test_every_document_is_a_named_operation_valid_against_the_schema() -> None:
    schema = build_schema()._schema
    paths = sorted(client.DOCUMENTS.glob("*.graphql"))
    assert len(paths) >= 2
    for path in paths:
        document = graphql.parse(path.read_text())
        assert not graphql.validate(schema, document), path.name
        operations = [
            d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)
        ]
        assert len(operations) == 1 and operations[0].name is not None, path.name
    assert set(client.load_documents(schema)) == {p.stem for p in paths}


def test_a_document_that_no_longer_matches_the_schema_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken.graphql").write_text("query Broken { me { noSuchField } }")
    monkeypatch.setattr(client, "DOCUMENTS", tmp_path)
    with pytest.raises(RuntimeError, match=r"broken\.graphql"):
        client.load_documents(build_schema()._schema)


def _page_routes(site: Site) -> list[Route]:
    routes = []
    for route in site.service.client.app.routes:
        if isinstance(route, Mount):
            assert route.path in {"/auth", "/static"}, route.path
            continue
        if isinstance(route, WebSocketRoute):  # the live alerts' socket (app/ws.py)
            assert route.path == "/graphql/ws", route.path
            continue
        assert isinstance(route, Route)
        if route.path not in NOT_PAGES:
            routes.append(route)
    return routes


def test_every_page_route_has_a_rule(site: Site) -> None:
    routes = _page_routes(site)
    assert len(routes) == len(PAGES) >= 2
    for route in routes:
        page = getattr(route.endpoint, "page", None)
        assert isinstance(page, Page), f"{route.path} is served without a Page rule"
        assert page.roles and page.roles <= EVERYONE, route.path
        assert route.path == page.path and set(route.methods or ()) >= set(page.methods)


def test_a_page_whose_rule_names_no_role_of_the_person_is_not_found(site: Site) -> None:
    async def never(view: View) -> object:
        raise AssertionError("the handler ran")

    from app.web.view import guarded

    api = client.Api(site.service.client.app.state.endpoint)
    for roles in (frozenset(), frozenset({"ADMIN"})):
        page = Page("/x", "X", roles, never)  # type: ignore[arg-type]
        endpoint = guarded(page, api, [page], ORIGIN)
        app = site.service.client.app
        app.router.routes.append(Route("/x", endpoint))
        try:
            answer = site.browser("jt101").get("/x")
        finally:
            app.router.routes.pop()
        assert answer.status_code == 404 and "Page not found" in answer.text


def _concrete(path: str) -> str:
    return path.replace("{id}", "00000000-0000-0000-0000-000000000000").replace(
        "{consentId}", "00000000-0000-0000-0000-000000000000"
    )


def test_every_page_asks_for_sign_in_without_a_session(site: Site) -> None:
    browser = site.browser()
    for page in PAGES:
        for method in page.methods:
            answer = browser.client.request(method, _concrete(page.path))
            assert answer.status_code == 303, (method, page.path)
            assert answer.headers["location"] == "/sign-in"


def test_every_form_refuses_a_post_without_its_token_or_from_another_site(site: Site) -> None:
    browser = site.browser("st100")
    for page in PAGES:
        if "POST" not in page.methods:
            continue
        path = _concrete(page.path)
        assert browser.post(path, {}, csrf=False).status_code == 403, path
        assert browser.post(path, {}, origin="https://evil.example").status_code == 403, path
        assert browser.post(path, {"csrf_token": "forged"}).status_code == 403, path


@pytest.mark.parametrize("username", PERSONAS)
def test_every_page_has_the_strict_headers(site: Site, username: str) -> None:
    browser = site.browser(username)
    for page in PAGES:
        answer = browser.get(_concrete(page.path))
        if "GET" not in page.methods:
            continue
        assert answer.status_code in (200, 303, 404), (page.path, answer.status_code)
        csp = answer.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert answer.headers["cache-control"] == "no-store"
        assert "<script>" not in answer.text and " style=" not in answer.text


def test_a_page_view_counts_once_against_the_users_rate_limit(site_for: Any) -> None:
    site = site_for(rate_limit_per_user=4)
    browser = site.browser("jt101")
    answers = [browser.get("/students").status_code for _ in range(5)]
    assert answers[:4] == [200] * 4 and answers[4] == 429
    assert "Try again in a moment" in browser.get("/").text
