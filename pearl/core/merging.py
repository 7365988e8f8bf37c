"""Merging customers: the hook every app registers so its rows follow a merge and come back on unmerge.

A merge moves everything that belongs to the merged-away customers onto the survivor, then deletes
them; an unmerge moves exactly those rows back. Core cannot know which apps hold customer rows, so
each app says so in its ``merging`` module (found by autodiscovery, like ``admin``), e.g.::

    from pearl.core import merging
    merging.register_fk("sales.Order", "customer")          # re-point the FK, and back on unmerge
    merging.register(merging.MergeHook(name=..., relations=..., move=..., restore=...))  # custom

``pearl/customers/tests/test_merge_hooks.py`` walks every installed model and fails when a foreign
key, one-to-one or many-to-many to the customer is not covered by a registered hook, so a new app
cannot forget (a CASCADE would silently delete its rows with the merged-away customer).

Hooks run inside the merge's transaction with the customers locked. ``move`` returns a JSON-able
record that the merge keeps in its snapshot; ``restore`` receives it back; ``check`` lists what
makes an unmerge unsafe (shown to the user, nothing written); ``rebuild`` refreshes derived data of
the given customers after all moves (search index, metrics).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext as _

Record = Any  # JSON-able: what a hook moved, kept in the merge record for the unmerge
MoveFn = Callable[[int, int], Record]  # (source_id, survivor_id) -> record
RestoreFn = Callable[[int, int, Record], None]
CheckFn = Callable[[int, int, Record], list[str]]
RebuildFn = Callable[[Sequence[int]], None]


@dataclass(frozen=True)
class MergeHook:
    name: str  # stable key in merge snapshots: never rename once merges were recorded with it
    relations: tuple[tuple[str, str], ...]  # ("app_label.model", "field") pairs this hook takes care of
    move: MoveFn
    restore: RestoreFn
    check: CheckFn | None = None
    rebuild: RebuildFn | None = None
    order: int = 100  # lower runs earlier on merge (and later on unmerge, which runs in reverse)


@dataclass
class _Registry:
    hooks: dict[str, MergeHook] = field(default_factory=dict)
    discovered: bool = False


_registry = _Registry()


def register(hook: MergeHook) -> MergeHook:
    """Add a hook; registering the same name again replaces it (module reloads in tests)."""
    _registry.hooks[hook.name] = hook
    return hook


def unregister(name: str) -> None:
    """Remove a hook (tests that register a throwaway one)."""
    _registry.hooks.pop(name, None)


def _model(model: type[models.Model] | str) -> type[models.Model]:
    return apps.get_model(model) if isinstance(model, str) else model


def register_fk(
    model: type[models.Model] | str, field_name: str, *, strict: bool = True, order: int = 100
) -> MergeHook:
    """The default hook: rows whose ``field_name`` points at a merged-away customer point at the survivor.

    On unmerge the same rows (by primary key) point back. ``strict``: a moved row deleted or moved
    elsewhere since makes the unmerge unsafe; otherwise it is simply no longer there to move back.
    """
    label = _model(model)._meta.label_lower
    attname = f"{field_name}_id"

    def rows() -> models.QuerySet[Any]:
        return _model(label)._default_manager.all()

    def move(source_id: int, survivor_id: int) -> Record:
        moving = rows().filter(**{attname: source_id})
        ids = list(moving.values_list("pk", flat=True))
        if ids:
            rows().filter(pk__in=ids).update(**{attname: survivor_id})
        return ids

    def restore(source_id: int, survivor_id: int, record: Record) -> None:
        if record:
            rows().filter(pk__in=record, **{attname: survivor_id}).update(**{attname: source_id})

    def check(source_id: int, survivor_id: int, record: Record) -> list[str]:
        if not strict or not record:
            return []
        still = set(rows().filter(pk__in=record, **{attname: survivor_id}).values_list("pk", flat=True))
        gone = [pk for pk in record if pk not in still]
        if not gone:
            return []
        name = str(_model(label)._meta.verbose_name_plural)
        return [
            _("%(count)d %(things)s moved by this merge were deleted or moved elsewhere since (#%(ids)s).")
            % {"count": len(gone), "things": name, "ids": ", #".join(str(pk) for pk in gone[:10])}
        ]

    return register(
        MergeHook(name=label, relations=((label, field_name),), move=move, restore=restore, check=check, order=order)
    )


def hooks() -> list[MergeHook]:
    """Every registered hook in merge order (apps' ``merging`` modules are imported on first use)."""
    if not _registry.discovered:
        autodiscover_modules("merging")
        _registry.discovered = True
    return sorted(_registry.hooks.values(), key=lambda h: (h.order, h.name))


def handled_relations() -> set[tuple[str, str]]:
    return {relation for hook in hooks() for relation in hook.relations}


def relations_to(target: type[models.Model]) -> set[tuple[str, str]]:
    """Every (model, field) of an installed model, auto-created M2M tables included, that points at ``target``.

    Concrete foreign keys and one-to-ones, and many-to-many fields declared on a model (whose
    through table's foreign key is listed too).
    """
    found: set[tuple[str, str]] = set()
    for model in apps.get_models(include_auto_created=True):
        for f in [*model._meta.fields, *model._meta.many_to_many]:
            if f.is_relation and f.related_model is not None and _model(f.related_model) is target:
                found.add((model._meta.label_lower, f.name))
    return found
