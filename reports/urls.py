from django.urls import path

from reports import views

urlpatterns = [
    path("reports/", views.dashboard_view, name="reports_dashboard"),
    path("reports/attention/", views.attention_view, name="reports_attention"),
    path("reports/coaching/", views.coaching_view, name="reports_coaching"),
    path("reports/explorer/", views.explorer_view, name="reports_explorer"),
    path("reports/sla-simulator/", views.sla_simulator_view, name="reports_sla_simulator"),
    path("reports/explorer.csv", views.explorer_csv_view, name="reports_explorer_csv"),
]
