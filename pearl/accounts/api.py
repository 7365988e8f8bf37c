"""/api/v1/me: who the API thinks you are, so a script can check its token before it writes."""


from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from pearl.accounts.choices import Action
from pearl.core.api import api_actor, problem_responses

router = Router(tags=["accounts"])


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
    user = api_actor(request)
    return MeOut(
        id=user.pk,
        username=user.username,
        display_name=str(user),
        role=user.role.name if user.role else None,
        team=user.team_id,
        data_scope=str(user.data_scope),
        permissions=[a for a in Action.values if user.may(a)],
    )
