from django.urls import path

from pearl.leads import views

app_name = "leads"
urlpatterns = [
    path("", views.lead_list, name="lead_list"),
    path("new/", views.lead_create, name="lead_create"),
    path("<int:pk>/", views.lead_detail, name="lead_detail"),
    path("<int:pk>/edit/", views.lead_edit, name="lead_edit"),
    path("<int:pk>/follow-up/", views.lead_follow_up, name="lead_follow_up"),
    path("<int:pk>/convert/", views.lead_convert, name="lead_convert"),
    path("<int:pk>/disqualify/", views.lead_disqualify, name="lead_disqualify"),
    path("rules/", views.rule_list, name="rule_list"),
    path("rules/new/", views.rule_create, name="rule_create"),
    path("rules/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("rules/<int:pk>/move/", views.rule_move, name="rule_move"),
]
