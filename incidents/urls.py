from django.urls import path

from incidents import views

urlpatterns = [
    path("incidents/", views.incident_list_view, name="incident_list"),
    path("incidents/new/", views.incident_new_view, name="incident_new"),
    path("incidents/<int:pk>/", views.incident_detail_view, name="incident_detail"),
    path("incidents/<int:pk>/link/", views.incident_link_view, name="incident_link"),
    path("incidents/<int:pk>/update/", views.incident_update_view, name="incident_update"),
    path("incidents/<int:pk>/resolve/", views.incident_resolve_view, name="incident_resolve"),
    path("tickets/<str:reference>/incident/", views.ticket_incident_link_view, name="ticket_incident_link"),
]
