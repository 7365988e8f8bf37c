from django.urls import path

from pearl.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="customer_list"),
    path("export.csv", views.customer_export, name="customer_export"),
    path("new/", views.customer_create, name="customer_create"),
    path("new/contact-row/", views.contact_row, name="contact_row"),
    path("merge/", views.customer_merge, name="customer_merge"),
    path("merges/<int:merge_id>/unmerge/", views.customer_unmerge, name="customer_unmerge"),
    path("<int:pk>/", views.customer_detail, name="customer_detail"),
    path("<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("<int:pk>/delete/", views.customer_delete, name="customer_delete"),
    path("<int:pk>/history/", views.customer_history, name="customer_history"),
    path("<int:pk>/timeline/", views.customer_timeline, name="customer_timeline"),
    path("<int:pk>/contacts/", views.contact_list, name="contact_list"),
    path("<int:pk>/contacts/new/", views.contact_create, name="contact_create"),
    path("<int:pk>/contacts/<int:contact_id>/edit/", views.contact_edit, name="contact_edit"),
    path("<int:pk>/contacts/<int:contact_id>/delete/", views.contact_delete, name="contact_delete"),
]
