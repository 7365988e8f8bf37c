from django.contrib import admin

from pearl.core.admin import ReadOnlyAdmin
from pearl.customers.models import Contact, Customer, Identity


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "short_name", "kind", "grade", "status", "owner", "team", "updated_at")
    list_filter = ("kind", "grade", "status")
    show_full_result_count = False  # a million rows: don't count on every admin page


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "mobile", "customer")
    show_full_result_count = False


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdmin):
    list_display = ("kind", "value", "customer")
    show_full_result_count = False
