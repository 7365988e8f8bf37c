"""A small company with the three personas every scope test uses: owner, teammate, outsider.

Tree: 鑫海水产 (company) → 华南大区 (region) → 一组 / 二组 (teams).
owner and teammate sell in 一组, outsider sells in 二组, manager runs 华南大区, admin sees all.
"""

from __future__ import annotations

from dataclasses import dataclass

from pearl.accounts.models import Role, Team, User
from pearl.accounts.services import team_create, user_create

PASSWORD = "pearl-test-pass-2026"


@dataclass
class Org:
    company: Team
    region: Team
    team_a: Team
    team_b: Team
    admin: User
    manager: User
    owner: User
    teammate: User
    outsider: User
    service: User
    finance: User


def build_org() -> Org:
    company = team_create(actor=None, name="鑫海水产")
    region = team_create(actor=None, name="华南大区", parent=company)
    team_a = team_create(actor=None, name="一组", parent=region)
    team_b = team_create(actor=None, name="二组", parent=region)

    def make(username: str, role: str, team: Team) -> User:
        return user_create(
            actor=None, username=username, password=PASSWORD, role=Role.objects.get(name=role), team=team
        )

    return Org(
        company=company,
        region=region,
        team_a=team_a,
        team_b=team_b,
        admin=make("admin", "admin", company),
        manager=make("manager", "manager", region),
        owner=make("owner", "sales", team_a),
        teammate=make("teammate", "sales", team_a),
        outsider=make("outsider", "sales", team_b),
        service=make("service", "service", team_a),
        finance=make("finance", "finance", company),
    )
