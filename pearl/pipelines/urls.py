from django.urls import URLPattern

app_name = "pipelines"

urlpatterns: list[URLPattern] = []
