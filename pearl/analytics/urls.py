from django.urls import path

from pearl.analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.rules, name="rules"),
    path("grading/<int:pk>/", views.grading_rule_edit, name="grading_rule_edit"),
    path("grading/<int:pk>/delete/", views.grading_rule_delete, name="grading_rule_delete"),
    path("smart-tags/new/", views.smart_tag_create, name="smart_tag_create"),
    path("smart-tags/examples/", views.smart_tag_examples, name="smart_tag_examples"),
    path("smart-tags/<int:pk>/", views.smart_tag_edit, name="smart_tag_edit"),
    path("smart-tags/<int:pk>/delete/", views.smart_tag_delete, name="smart_tag_delete"),
]
