"""Customer pages: list and search, create / edit, detail with contacts and history, CSV export.

Views are thin: they turn a request into one selector or service call and the service's errors into
messages on the form. Every page answers a customer outside the actor's scope with 404; services
check permissions again whatever the buttons showed. htmx requests get just the part that changes
(results, contacts section, a contact row); the same URLs work as full pages without JavaScript.

One module per part of the customer pages; pearl.customers.urls reads the views from here.
"""

from pearl.customers.views.detail import contact_create, contact_delete, contact_edit, contact_list
from pearl.customers.views.edit import contact_row, customer_create, customer_delete, customer_edit
from pearl.customers.views.history import customer_history
from pearl.customers.views.lists import customer_export, customer_list
from pearl.customers.views.merge import customer_merge, customer_unmerge
from pearl.customers.views.overview import customer_detail
from pearl.customers.views.timeline import customer_timeline

__all__ = [
    "contact_create",
    "contact_delete",
    "contact_edit",
    "contact_list",
    "contact_row",
    "customer_create",
    "customer_delete",
    "customer_detail",
    "customer_edit",
    "customer_export",
    "customer_history",
    "customer_list",
    "customer_merge",
    "customer_timeline",
    "customer_unmerge",
]
