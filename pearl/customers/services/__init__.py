"""Writes for customers, contacts and their settings. Views, API and commands call only these."""

from pearl.customers.services.config import (
    choice_option_create,
    choice_option_update,
    custom_field_create,
    custom_field_delete,
    custom_field_update,
    tag_create,
    tag_delete,
    tag_update,
)
from pearl.customers.services.contacts import contact_create, contact_delete, contact_update
from pearl.customers.services.customers import customer_create, customer_delete, customer_update
from pearl.customers.services.merge import customer_merge, customer_unmerge
from pearl.customers.services.ownership import OwnershipChange, customer_owners_set

__all__ = [
    "OwnershipChange",
    "choice_option_create",
    "choice_option_update",
    "contact_create",
    "contact_delete",
    "contact_update",
    "custom_field_create",
    "custom_field_delete",
    "custom_field_update",
    "customer_create",
    "customer_delete",
    "customer_merge",
    "customer_owners_set",
    "customer_unmerge",
    "customer_update",
    "tag_create",
    "tag_delete",
    "tag_update",
]
