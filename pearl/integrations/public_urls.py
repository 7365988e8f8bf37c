"""/f/: the public web forms, opened without a login by anyone who has a form's link."""

from django.urls import path

from pearl.integrations import views

app_name = "webforms"

urlpatterns = [
    path("<str:slug>/", views.public_form, name="public"),
    path("<str:slug>/thanks/", views.public_thanks, name="thanks"),
]
