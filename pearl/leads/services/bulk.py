"""The take-back of an import's untouched leads, a chunk at a time.

Creating leads in bulk is ``leads_create_many``; which open leads hold a batch's identifiers is the
selector ``open_leads_holding``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from pearl.accounts.models import User
from pearl.core.changes import deleted, record_changes
from pearl.core.events import emit_many
from pearl.core.models import ChangeAction
from pearl.core.permissions import require
from pearl.leads.choices import LeadStatus
from pearl.leads.models import Lead
from pearl.leads.services.leads import lead_snapshot

CHUNK = 500


@dataclass
class TakeBack:
    deleted: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)  # changed since: left as they are


@transaction.atomic
def leads_delete_untouched(*, actor: User, created: list[tuple[int, int]]) -> TakeBack:
    """Delete the leads of ``created`` (id, version right after they were created) that nobody has
    touched since: same version and still new. The others are kept and returned (a follow-up, an edit,
    a reassignment or a status change each raise the version); a lead deleted meanwhile is in neither
    list. One change-log row per deleted lead.

    Taking back one's own arrivals needs the right that created them, not the delete right (as the
    customer import's revert). Not scoped either: an import's leads were handed to whoever the rules
    chose, often outside the importer's scope, and an untouched lead holds nobody's work."""
    if created:
        require(actor, "create")
    wanted = dict(created)
    result = TakeBack()
    ids = sorted(wanted)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        leads = list(Lead.objects.select_for_update().filter(pk__in=chunk).order_by("pk"))
        untouched = [x for x in leads if x.version == wanted[x.pk] and x.status == LeadStatus.NEW]
        keep = {x.pk for x in leads} - {x.pk for x in untouched}
        result.kept.extend(sorted(keep))  # a lead deleted meanwhile is in neither list
        if not untouched:
            continue
        record_changes(
            actor=actor, action=ChangeAction.DELETE, items=[(x, deleted(lead_snapshot(x))) for x in untouched]
        )
        Lead.objects.filter(pk__in=[x.pk for x in untouched]).delete()
        result.deleted.extend(x.pk for x in untouched)
    emit_many("lead.deleted", [{"lead_id": pk, "actor_id": actor.pk} for pk in result.deleted])
    return result
