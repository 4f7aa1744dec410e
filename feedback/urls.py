from django.urls import path

from feedback import views

urlpatterns = [
    path("survey/<str:token>/", views.survey_answer_view, name="survey_answer"),
    path("tickets/<str:reference>/resolution/summary/", views.resolution_summary_view, name="resolution_summary"),
    path("tickets/<str:reference>/resolution/send/", views.resolution_send_view, name="resolution_send"),
    path(
        "tickets/<str:reference>/resolution/notify-team/",
        views.resolution_notify_team_view,
        name="resolution_notify_team",
    ),
    path("tickets/<str:reference>/rca/", views.rca_create_view, name="rca_create"),
    path("rca/review/", views.rca_review_queue_view, name="rca_review_queue"),
    path("rca/<int:pk>/review/", views.rca_review_view, name="rca_review"),
    path("rca/actions/<int:pk>/done/", views.corrective_action_done_view, name="corrective_action_done"),
    path("follow-ups/", views.follow_up_list_view, name="follow_up_list"),
    path("follow-ups/<int:pk>/complete/", views.follow_up_complete_view, name="follow_up_complete"),
]
