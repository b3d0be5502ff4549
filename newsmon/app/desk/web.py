"""The desk: server-rendered pages (Jinja2, autoescaped; htmx for the retry button) and the same views as JSON."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, pass_context
from markupsafe import Markup, escape

from newsmon import __version__
from newsmon.app.desk import models
from newsmon.app.desk.auth import (
    SignInRequired,
    airflow_login_url,
    api_retry_user,
    api_user,
    may_retry,
    page_retry_user,
    page_user,
    user_name,
)
from newsmon.app.desk.views import (
    Desk,
    alerts_view,
    feeds_view,
    filter_choices,
    retry_view,
    search_view,
    story_view,
)
from newsmon.core.errors import Unavailable, UserError
from newsmon.core.settings import Settings, load_settings
from newsmon.store.backends import open_index
from newsmon.store.db import open_engine

log = logging.getLogger(__name__)
PACKAGE = "newsmon.app.desk"
STATIC = "desk_static"
MAX_PER_PAGE = 100

_env = Environment(loader=PackageLoader(PACKAGE, "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True)
templates = Jinja2Templates(env=_env)


def desk_url(request: Request, name: str, /, **params: Any) -> str:
    """The path of one of the desk's routes under whatever prefix the desk is mounted at.

    Starlette's request.url_for asks the outermost router, which inside Airflow is Airflow's: it knows the
    routes of every mounted app, so a name two apps share resolves to the first one mounted. Asking the
    desk's own app and prefixing root_path (Airflow's base path + /newsmon) cannot be confused that way.
    """
    return request.scope.get("root_path", "") + str(request.app.url_path_for(name, **params))


def _when(at: datetime | None, unknown: str = "date unknown") -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else unknown


def _marked(text: str, spans: list[tuple[int, int]]) -> Markup:
    """`text` escaped, with each [start, end) span in <mark>: the snippet's only markup is ours."""
    out, position = [], 0
    for start, end in spans:
        out += [escape(text[position:start]), Markup("<mark>"), escape(text[start:end]), Markup("</mark>")]
        position = end
    out.append(escape(text[position:]))
    return Markup("").join(out)


def _page_url(request: Request, number: int) -> str:
    """This page's URL with another page number: the pager keeps every filter as it was."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"] + [("page", str(number))]
    return f"{request.url.path}?{urlencode(params)}"


def _web_link(url: str) -> str:
    """An article's or feed's URL as a link target, if it is a web address: a `javascript:` one links nowhere."""
    return url if urlsplit(url).scheme.lower() in ("http", "https") else "#"


_env.globals["page_url"] = _page_url
_env.filters["web_link"] = _web_link
_env.globals["url_for"] = pass_context(lambda ctx, name, /, **params: desk_url(ctx["request"], name, **params))
_env.filters["when"] = _when
_env.filters["marked"] = _marked
_env.globals["version"] = __version__


class AddTrailingSlash:
    """Root middleware: `/newsmon` (no slash) redirects to `/newsmon/`. Without it, Airflow's UI catches the
    path (its pages take every path no app claims) and shows its own page instead of the desk."""

    def __init__(self, app: Any, prefix: str) -> None:
        self.app, self.prefix = app, prefix

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == scope.get("root_path", "") + self.prefix:
            query = scope.get("query_string", b"").decode("latin-1")
            target = scope["path"] + "/" + (f"?{query}" if query else "")
            await RedirectResponse(target, status_code=308)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class _DeskHolder:
    """Opens the store on first use, not at import or start-up: Airflow imports the plugin in every process,
    and a state DB that is down must cost the desk a 503 page, never Airflow's UI."""

    def __init__(self, settings: Settings | None, clock: Callable[[], datetime] | None) -> None:
        self.settings, self.clock = settings, clock
        self.desk: Desk | None = None
        self.lock = threading.Lock()

    def get(self) -> Desk:
        with self.lock:
            if self.desk is None:
                settings = self.settings or load_settings()
                engine = open_engine(settings.database_url)
                desk = Desk(settings, engine, open_index(settings, engine))
                if self.clock:
                    desk.clock = self.clock
                self.desk = desk
            return self.desk

    def close(self) -> None:
        if self.desk is not None:
            self.desk.index.close()
            self.desk.engine.dispose()
            self.desk = None


def _desk(request: Request) -> Desk:
    return request.app.state.holder.get()


def _same_origin(request: Request) -> None:
    """Refuse a state-changing request another site's page sent (the session cookie is SameSite=Lax already)."""
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise HTTPException(403, "This request came from another site's page; use the desk itself")


DeskDep = Annotated[Desk, Depends(_desk)]
PageUser = Annotated[Any, Depends(page_user)]
ApiUser = Annotated[Any, Depends(api_user)]
PageRetryUser = Annotated[Any, Depends(page_retry_user)]
ApiRetryUser = Annotated[Any, Depends(api_retry_user)]
MayRetry = Annotated[bool, Depends(may_retry)]
SameOrigin = Annotated[None, Depends(_same_origin)]
StoryKey = Annotated[str, Path(description="story key, as in a search result's `key`")]


def _values(values: list[str]) -> list[str]:
    return [v.strip() for v in values if v.strip()]  # a form's "any" option sends an empty value


def search_filters(
    q: Annotated[str, Query(description="Lucene syntax, as `newsmon search` and Kibana (empty: newest first)")] = "",
    since: Annotated[str, Query(description="2026-11-01, an ISO datetime, or an age: 30min, 6h, 3d, 2w")] = "",
    lang: Annotated[list[str], Query(description="language code (repeatable)")] = [],  # noqa: B006 - FastAPI copies it
    source: Annotated[list[str], Query(description="feed id (repeatable)")] = [],  # noqa: B006
    affiliation: Annotated[list[str], Query(description="source affiliation (repeatable)")] = [],  # noqa: B006
    subtopic: Annotated[list[str], Query(description="subtopic (repeatable; all must match)")] = [],  # noqa: B006
    entity: Annotated[list[str], Query(description="entity id such as person/lukashenko (repeatable; all must match)")] = [],  # noqa: B006
    on_topic: Annotated[bool, Query(description="only articles tagged on the topic")] = False,
    sort: Annotated[str, Query(pattern="^(relevance|date)$")] = "relevance",
) -> models.Filters:
    return models.Filters(q=q.strip(), since=since.strip(), languages=_values(lang), sources=_values(source),
                          affiliations=_values(affiliation), subtopics=_values(subtopic),
                          entities=_values([e for value in entity for e in value.replace(",", " ").split()]),
                          on_topic=on_topic, sort=sort)


FiltersDep = Annotated[models.Filters, Depends(search_filters)]
PageNumber = Annotated[int, Query(ge=1, description="page of stories, from 1")]
PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE)]


def create_app(*, settings: Settings | None = None, clock: Callable[[], datetime] | None = None,
               login_url: Callable[[str], str] = airflow_login_url) -> FastAPI:
    """The desk app. Airflow mounts it at /newsmon; with no settings it reads NEWSMON_* when first used."""
    holder = _DeskHolder(settings, clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield  # Airflow's api-server enters this for mounted apps; nothing to open before the first request
        holder.close()

    app = FastAPI(
        title="newsmon desk",
        version=__version__,
        description="Search, stories, alerts and feed health of newsmon: the JSON behind the desk's pages. "
                    "Sign in with Airflow: a bearer JWT from POST /auth/token, or the UI's session cookie.",
        docs_url=None,  # FastAPI's own /docs loads Swagger UI from a CDN; the desk renders its API page itself
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.holder = holder
    app.state.login_url = login_url
    app.mount("/static", StaticFiles(packages=[(PACKAGE, "static")]), name=STATIC)
    _errors(app)
    _pages(app)
    _api(app)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.removeprefix(request.scope.get("root_path", "")).startswith("/api/")


def _errors(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def to_login(request: Request, _exc: SignInRequired) -> Response:
        # 303, so a refused POST comes back as a GET of the login form. After signing in the reader returns
        # to the page the button was on: a GET of the POST's own URL would be a 405.
        back = str(request.url) if request.method == "GET" else (
            request.headers.get("referer") or desk_url(request, "desk_alerts"))
        return RedirectResponse(request.app.state.login_url(back), status_code=303)

    @app.exception_handler(Unavailable)
    async def unavailable(request: Request, exc: Unavailable) -> Response:
        log.warning("desk: %s", exc)
        if _is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=503)
        return templates.TemplateResponse(request, "error.html", {"title": "The store is unavailable",
                                                                  "message": str(exc), "user": None},
                                          status_code=503)

    @app.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=400)


def _page(request: Request, name: str, user: Any, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"user": user_name(user), **context}, status_code=status_code)


def _pages(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False, name="desk_search")
    def search_page(request: Request, user: PageUser, desk: DeskDep, filters: FiltersDep,
                    page: PageNumber = 1) -> HTMLResponse:
        result, error = None, None
        try:
            result = search_view(desk, filters, page)
        except UserError as exc:  # a query the grammar refuses: say why, keep the form as typed
            error = str(exc)
        return _page(request, "search.html", user, filters=filters, result=result, error=error,
                     choices=filter_choices(desk), status_code=400 if error else 200)

    @app.get("/story/{key}", response_class=HTMLResponse, include_in_schema=False, name="desk_story")
    def story_page(request: Request, key: StoryKey, user: PageUser, desk: DeskDep) -> HTMLResponse:
        story = story_view(desk, key)
        if story is None:
            return _page(request, "error.html", user, title="No such story",
                         message=f"The index holds no story {key!r}.", status_code=404)
        return _page(request, "story.html", user, story=story)

    @app.get("/alerts", response_class=HTMLResponse, include_in_schema=False, name="desk_alerts")
    def alerts_page(request: Request, user: PageUser, desk: DeskDep, can_retry: MayRetry) -> HTMLResponse:
        return _page(request, "alerts.html", user, alerts=alerts_view(desk), can_retry=can_retry)

    @app.post("/alerts/{outbox_id}/retry", include_in_schema=False, name="desk_alert_retry")
    def retry_form(request: Request, outbox_id: int, _origin: SameOrigin, user: PageRetryUser,
                   desk: DeskDep) -> Response:
        retried = retry_view(desk, outbox_id)
        if retried is None:
            raise HTTPException(404, f"The outbox has no alert {outbox_id}")
        if request.headers.get("hx-request"):  # htmx swaps just this row
            return _page(request, "_outbox_row.html", user, item=retried.item, can_retry=True)
        return RedirectResponse(desk_url(request, "desk_alerts"), status_code=303)

    @app.get("/feeds", response_class=HTMLResponse, include_in_schema=False, name="desk_feeds")
    def feeds_page(request: Request, user: PageUser, desk: DeskDep) -> HTMLResponse:
        return _page(request, "feeds.html", user, feeds=feeds_view(desk))

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False, name="desk_docs")
    def api_page(request: Request) -> HTMLResponse:
        # Public, like openapi.json: it describes the API and holds no data.
        return templates.TemplateResponse(request, "api.html", {"user": None, "spec": request.app.openapi(),
                                                                "spec_url": request.scope.get("root_path", "")
                                                                + request.app.openapi_url})


def _api(app: FastAPI) -> None:
    tags = ["desk"]

    @app.get("/api/search", tags=tags, summary="Stories matching a search", name="desk_api_search")
    def api_search(_user: ApiUser, desk: DeskDep, filters: FiltersDep, page: PageNumber = 1,
                   per_page: PerPage = 20) -> models.SearchResult:
        """One page of stories, each with its copies: the search page as data. Snippet highlights are offsets."""
        return search_view(desk, filters, page, per_page)

    @app.get("/api/stories/{key}", tags=tags, summary="One story with every member", name="desk_api_story",
             responses={404: {"description": "no story with this key"}})
    def api_story(key: StoryKey, _user: ApiUser, desk: DeskDep) -> models.Story:
        """Members oldest first, with why each was tagged (matched terms and where)."""
        story = story_view(desk, key)
        if story is None:
            raise HTTPException(404, f"The index holds no story {key!r}")
        return story

    @app.get("/api/alerts", tags=tags, summary="Rules, what they fired, and the outbox", name="desk_api_alerts")
    def api_alerts(_user: ApiUser, desk: DeskDep) -> models.Alerts:
        return alerts_view(desk)

    @app.post("/api/alerts/{outbox_id}/retry", tags=tags, summary="Queue a given-up alert again",
              name="desk_api_retry", responses={403: {"description": "may not change runs of newsmon_ingest"},
                                                404: {"description": "no such outbox row"}})
    def api_retry(outbox_id: int, _origin: SameOrigin, _user: ApiRetryUser, desk: DeskDep) -> models.Retried:
        """What `newsmon alerts retry --id N` does: a failed alert becomes pending with a fresh attempt count."""
        retried = retry_view(desk, outbox_id)
        if retried is None:
            raise HTTPException(404, f"The outbox has no alert {outbox_id}")
        return retried

    @app.get("/api/feeds", tags=tags, summary="Health of every configured feed", name="desk_api_feeds")
    def api_feeds(_user: ApiUser, desk: DeskDep) -> models.Feeds:
        return feeds_view(desk)
