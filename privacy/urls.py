from django.urls import path

from privacy import views

app_name = "privacy"

urlpatterns = [
    path("privacy/exports/<str:secret>/", views.download, name="download"),
]
