"""Bearer-token authentication for the API, and /api/v1/me so a script can check its token."""

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.security import HttpBearer
from pydantic import Field

from pearl.accounts.choices import Action
from pearl.accounts.models import User
from pearl.accounts.services import token_authenticate
from pearl.core.api import api_actor, problem_responses

router = Router(tags=["accounts"])

_BEARER_CACHE = "_pearl_bearer_user"


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer pearl_…`` with a token created in the UI or by ``pearl token``."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        # The idempotency check authenticates before the operation does: look the token up once.
        if not hasattr(request, _BEARER_CACHE):
            setattr(request, _BEARER_CACHE, token_authenticate(token.strip()))
        user: User | None = getattr(request, _BEARER_CACHE)
        return user


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    role: str | None = Field(description="Role code: admin, manager, sales, service, marketing, finance.")
    team: int | None = Field(description="Team id.")
    data_scope: str = Field(json_schema_extra={"enum": ["own", "team", "subtree", "all"]})
    permissions: list[str] = Field(description="Actions the role allows.")


@router.get("/me", response={200: MeOut, **problem_responses(401)})
def get_me(request: HttpRequest) -> MeOut:
    """Who the API thinks you are, with your role's data scope and permissions."""
    user: User = api_actor(request)
    return MeOut(
        id=user.pk,
        username=user.username,
        display_name=str(user),
        role=user.role.name if user.role else None,
        team=user.team_id,
        data_scope=str(user.data_scope),
        permissions=[a for a in Action.values if user.may(a)],
    )
