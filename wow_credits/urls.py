from __future__ import annotations

from django.urls import path

from wow_credits import views

app_name = "wow_credits"
urlpatterns = [
    path("wall/", views.wall, name="wall"),
    path("wall/new", views.story_new, name="story_new"),
    path("wall/<int:story_id>/celebrate", views.celebrate, name="celebrate"),
    path("wow/grant", views.grant_dialog, name="grant"),
    path("wow/bonus", views.bonus, name="bonus"),
    path("wow/grants/<int:grant_id>/undo", views.grant_undo, name="grant_undo"),
    path("wow/grants/<int:grant_id>/retry", views.grant_retry, name="grant_retry"),
]
