"""Airflow's login in front of the desk: a page without a session goes to the login form, the JSON API answers 401.

Airflow is imported inside the functions: the desk's own tests run it without an Airflow server and
replace `airflow_user` and `may_retry` (FastAPI dependency overrides), and `newsmon` commands that never
show the desk should not pay for Airflow's import.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

# auto_error=False: a missing header is not an error here, the UI's cookie may carry the session.
bearer_scheme = HTTPBearer(auto_error=False, description="An Airflow JWT (POST /auth/token), or the UI's `_token` cookie")
RESOURCE = "NewsmonDesk"
# Retrying an alert changes what the pipeline will deliver: it needs the right to change runs of the DAG
# whose alert stage delivers the outbox.
ALERTS_DAG = "newsmon_ingest"


class SignInRequired(Exception):
    """A page was asked for without a valid Airflow session; the app answers with a redirect to the login form."""


async def airflow_user(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> Any | None:
    """The signed-in Airflow user (a bearer header first, else the UI's `_token` cookie), or None."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.core_api.security import get_user

    try:
        user = await get_user(request, None, bearer)
    except HTTPException:  # 401 for a missing or expired token, 403 for a forged one: all mean "sign in"
        return None
    # Inside a mounted app request.app is the desk, not Airflow's app: ask for the auth manager directly.
    method = "GET" if request.method in {"GET", "HEAD"} else "POST"
    if not get_auth_manager().is_authorized_custom_view(method=method, resource_name=RESOURCE, user=user):
        # A real refusal stays a 403: sending a signed-in user to the login page would loop.
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Your Airflow role may not use the newsmon desk")
    return user


async def may_retry(user: Annotated[Any | None, Depends(airflow_user)]) -> bool:
    """Whether the user may queue given-up alerts again: may they change runs of the alerts DAG?

    The simple auth manager answers is_authorized_custom_view alike for every method and any VIEWER, so
    the desk asks the DAG permission instead (simple auth manager: role USER or above; FAB: DAG run edit).
    """
    if user is None:
        return False
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    return get_auth_manager().is_authorized_dag(
        method="PUT", access_entity=DagAccessEntity.RUN, details=DagDetails(id=ALERTS_DAG), user=user
    )


def _not_signed_in() -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, "Not signed in to Airflow", headers={"WWW-Authenticate": "Bearer"})


async def page_user(user: Annotated[Any | None, Depends(airflow_user)]) -> Any:
    if user is None:
        raise SignInRequired
    return user


async def api_user(user: Annotated[Any | None, Depends(airflow_user)]) -> Any:
    if user is None:
        raise _not_signed_in()
    return user


def _retry_refused() -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN,
                         f"Retrying alerts needs the permission to change runs of the DAG {ALERTS_DAG}")


async def page_retry_user(user: Annotated[Any, Depends(page_user)], allowed: Annotated[bool, Depends(may_retry)]) -> Any:
    if not allowed:
        raise _retry_refused()
    return user


async def api_retry_user(user: Annotated[Any, Depends(api_user)], allowed: Annotated[bool, Depends(may_retry)]) -> Any:
    if not allowed:
        raise _retry_refused()
    return user


def user_name(user: Any) -> str:
    """What the page header shows for the signed-in user."""
    get_name = getattr(user, "get_name", None)
    return str(get_name() if callable(get_name) else user)


def airflow_login_url(next_url: str) -> str:
    """The login page of whichever auth manager Airflow runs (simple, FAB, Keycloak), coming back to next_url."""
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager().get_url_login(next_url=next_url)
