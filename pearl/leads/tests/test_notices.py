"""A new lead tells its owner (unless they gave it to themselves); a back-filled history tells nobody."""

from __future__ import annotations

from pearl.accounts.models import User
from pearl.core.testing.personas import Org
from pearl.leads import services
from pearl.leads.tests.conftest import make_lead, phone
from pearl.reminders.models import Notification


def _told(user: User) -> list[str]:
    return list(Notification.objects.filter(recipient=user).values_list("title", flat=True))


def test_the_owner_hears_of_a_lead_someone_else_assigned(org: Org) -> None:
    lead = services.lead_create(actor=org.admin, data={"name": "周先生", "mobile": phone()})
    assert lead.owner == org.admin and _told(org.admin) == []  # kept by its creator: no notice to oneself
    services.lead_update(actor=org.admin, lead_id=lead.pk, data={"owner": org.owner.pk})
    (notice,) = Notification.objects.filter(recipient=org.owner)
    # In the site's language, whatever the request's (these tests run in English).
    assert notice.title == "新线索：周先生" and notice.link == f"/leads/{lead.pk}/"
    assert "admin" in notice.body  # the reason: assigned by hand by admin


def test_a_rule_assignment_is_told_once_per_lead(org: Org) -> None:
    services.assignment_rule_create(actor=org.admin, data={"name": "全部", "members": [org.teammate.pk]})
    result = services.leads_create_many(
        actor=org.admin, rows=[{"name": f"客户{i}", "mobile": phone()} for i in range(3)]
    )
    assert len(result.created) == 3 and len(_told(org.teammate)) == 3
    make_lead(org.teammate)  # the teammate's own lead (the rule gives it to them too): nobody is told of it
    assert len(_told(org.teammate)) == 3


def test_a_history_written_after_the_fact_tells_nobody(org: Org) -> None:
    services.assignment_rule_create(actor=org.admin, data={"name": "全部", "members": [org.teammate.pk]})
    services.leads_create_many(actor=org.admin, rows=[{"name": "旧线索", "mobile": phone()}], notify=False)
    assert not Notification.objects.exists()
