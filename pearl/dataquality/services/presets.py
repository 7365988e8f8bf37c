"""Saved column mappings ("财务回款表"): by header text, so they fit later files in any column order."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.core.errors import ValidationFailed
from pearl.core.text import clean_spaces
from pearl.dataquality.mapping import mapping_to_preset
from pearl.dataquality.models import ImportPreset
from pearl.dataquality.selectors import job_get
from pearl.dataquality.services.imports import require_import


@transaction.atomic
def preset_save(*, actor: User, job_id: int, name: str) -> ImportPreset:
    """Save the job's mapping (and key, rule) under ``name``; an existing preset of that name is replaced."""
    require_import(actor)
    job = job_get(actor=actor, job_id=job_id)
    name = clean_spaces(name or "")
    if not name:
        raise ValidationFailed(_("Give the preset a name."), field_errors={"name": [_("Give the preset a name.")]})
    if len(name) > 64:
        raise ValidationFailed(_("At most %(n)d characters.") % {"n": 64})
    mapping = mapping_to_preset(job.headers, {int(i): k for i, k in job.mapping.items()})
    # Columns left out on purpose stay left out when the preset is applied to the next file.
    mapping.update({h: "" for h in job.headers if h and h not in mapping})
    preset, _created = ImportPreset.objects.update_or_create(
        name=name, defaults={"mapping": mapping, "key": job.key, "rule": job.rule, "created_by": actor}
    )
    return preset
