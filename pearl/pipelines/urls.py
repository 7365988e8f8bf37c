from django.urls import path

from pearl.pipelines import views

app_name = "pipelines"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/board/", views.board, name="board"),
    path("<int:pk>/rules/", views.stage_rules, name="stage_rules"),
    path("settings/", views.pipeline_settings, name="pipeline_settings"),
    path("<int:pk>/settings/", views.pipeline_config, name="pipeline_config"),
    path("opportunities/", views.opportunity_list, name="opportunity_list"),
    path("opportunities/new/", views.opportunity_create, name="opportunity_create"),
    path("opportunities/customer-picker/", views.customer_picker, name="customer_picker"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:pk>/edit/", views.opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:pk>/move/", views.opportunity_move, name="opportunity_move"),
    path("opportunities/<int:pk>/delete/", views.opportunity_delete, name="opportunity_delete"),
    path("opportunities/<int:pk>/quotes/new/", views.quote_create, name="quote_create"),
    path("quotes/<int:pk>/", views.quote_detail, name="quote_detail"),
    path("quotes/<int:pk>/print/", views.quote_print, name="quote_print"),
    path("quotes/<int:pk>/pdf/", views.quote_pdf, name="quote_pdf"),
    path("quotes/<int:pk>/delete/", views.quote_delete, name="quote_delete"),
    path("quotes/<int:pk>/<slug:action>/", views.quote_action, name="quote_action"),
]
