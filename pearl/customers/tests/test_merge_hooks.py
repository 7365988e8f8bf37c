"""Every relation to a customer is handled by a merge hook, so no app's rows are lost in a merge."""

from __future__ import annotations

from django.db import models

from pearl.core import merging
from pearl.customers.models import Customer

# The customers app's own relations: if the walker stopped finding these, the coverage test
# below would pass vacuously.
KNOWN = {
    ("customers.contact", "customer"),
    ("customers.identity", "customer"),
    ("customers.customersearchtoken", "customer"),
    ("customers.customer_tags", "customer"),
    ("customers.customeralias", "survivor"),
}


def test_the_walker_finds_foreign_keys_and_many_to_many_tables() -> None:
    assert merging.relations_to(Customer) >= KNOWN


def test_every_relation_to_customer_is_handled_by_a_registered_hook() -> None:
    """A new app with a foreign key, one-to-one or many-to-many to Customer must register a hook.

    Register it in ``<app>/merging.py``: ``merging.register_fk("app.Model", "customer")`` for the
    default (re-point on merge, point back on unmerge) or ``merging.register(MergeHook(...))``.
    """
    missing = merging.relations_to(Customer) - merging.handled_relations()
    assert not missing, f"relations to Customer without a merge hook (see pearl/core/merging.py): {sorted(missing)}"


def test_the_walker_reports_a_relation_nobody_handles() -> None:
    """The check is not vacuous: an unregistered model pointing at Customer shows up as missing."""

    class Visit(models.Model):  # a later app's model, declared here only for the walk
        customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
        seen_with = models.ManyToManyField(Customer, related_name="+")

        class Meta:
            app_label = "customers"

        def __str__(self) -> str:
            return str(self.pk)

    from django.apps import apps

    try:
        missing = merging.relations_to(Customer) - merging.handled_relations()
        assert ("customers.visit", "customer") in missing
        assert ("customers.visit", "seen_with") in missing
        assert ("customers.visit_seen_with", "customer") in missing
    finally:
        # Forget the throwaway models so later tests see the real registry.
        for name in ("visit", "visit_seen_with"):
            apps.all_models["customers"].pop(name, None)
        apps.clear_cache()


def test_hooks_are_discovered_in_merge_order() -> None:
    names = [hook.name for hook in merging.hooks()]
    assert names.index("customers.contact") < names.index("customers.identity") < names.index("core.changelog")
    assert {"customers.customer_tags", "customers.customersearchtoken", "customers.customeralias"} <= set(names)
