from __future__ import annotations

from django.urls import URLPattern, path

from livechat import views

app_name = "livechat"
urlpatterns: list[URLPattern] = [
    path("widget.js", views.widget_js, name="widget_js"),
    path("demo/shop/", views.demo_shop, name="demo_shop"),
    path("chats/", views.console, name="console"),
]
