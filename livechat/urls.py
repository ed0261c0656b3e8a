from django.urls import URLPattern

app_name = "livechat"
urlpatterns: list[URLPattern] = []
