from django.urls import path

from pearl.activities import views

app_name = "activities"
urlpatterns = [
    path("", views.follow_up_list, name="follow_up_list"),
    path("communications/", views.communication_list, name="communication_list"),
    path("communications/new/", views.communication_create, name="communication_create"),
    path("communications/<int:pk>/", views.communication_detail, name="communication_detail"),
    path("communications/<int:pk>/edit/", views.communication_edit, name="communication_edit"),
    path("communications/<int:pk>/delete/", views.communication_delete, name="communication_delete"),
    path("communications/<int:pk>/attachments/", views.communication_attach, name="communication_attach"),
    path("quick-log/<int:customer_id>/", views.quick_log, name="quick_log"),
    path("complaints/", views.complaint_list, name="complaint_list"),
    path("complaints/new/", views.complaint_create, name="complaint_create"),
    path("complaints/<int:pk>/", views.complaint_detail, name="complaint_detail"),
    path("complaints/<int:pk>/edit/", views.complaint_edit, name="complaint_edit"),
    path("complaints/<int:pk>/status/", views.complaint_status, name="complaint_status"),
    path("complaints/<int:pk>/delete/", views.complaint_delete, name="complaint_delete"),
    path("complaints/<int:pk>/attachments/", views.complaint_attach, name="complaint_attach"),
    path("attachments/<int:pk>/", views.attachment_file, name="attachment_file"),
    path("attachments/<int:pk>/delete/", views.attachment_delete, name="attachment_delete"),
]
