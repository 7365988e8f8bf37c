from django.urls import path
from django.http import HttpResponse
app_name = "customers"
urlpatterns = [path("", lambda r: HttpResponse(""), name="customer_list"), path("<int:pk>/", lambda r, pk: HttpResponse(""), name="customer_detail")]
