from django.urls import URLPattern

app_name = "wow_credits"
urlpatterns: list[URLPattern] = []
