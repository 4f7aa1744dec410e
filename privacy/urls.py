from django.urls import path

from privacy import views

urlpatterns = [
    path("privacy/requests/", views.data_request_list_view, name="data_request_list"),
    path("privacy/customers/<int:pk>/", views.customer_privacy_view, name="customer_privacy"),
    path("privacy/customers/<int:pk>/requests/", views.data_request_create_view, name="data_request_create"),
    path("privacy/requests/<int:pk>/decide/", views.data_request_decide_view, name="data_request_decide"),
    path("privacy/requests/<int:pk>/download/", views.data_request_download_view, name="data_request_download"),
]
