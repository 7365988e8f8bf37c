from django.urls import URLPattern

app_name = "pools"

urlpatterns: list[URLPattern] = []
