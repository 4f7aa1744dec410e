from django.urls import path

from escalations import views
from escalations.calls import views as views_calls

urlpatterns = [
    path("tickets/<str:reference>/escalate/", views.escalation_new_view, name="escalation_new"),
    path("tickets/<str:reference>/request-manager/", views.manager_request_view, name="manager_request"),
    path("teams/", views.team_list_view, name="team_list"),
    path("teams/<slug:slug>/", views.team_detail_view, name="team_detail"),
    path("escalations/inbox/", views.escalation_inbox_view, name="escalation_inbox"),
    path("escalations/review/", views.escalation_review_view, name="escalation_review"),
    path("escalations/approvals/", views.compensation_approvals_view, name="compensation_approvals"),
    path("escalations/approvals/<int:pk>/decide/", views.compensation_decide_view, name="compensation_decide"),
    path("escalations/<int:pk>/", views.escalation_detail_view, name="escalation_detail"),
    path(
        "kb/from-escalation/<int:escalation_id>/",
        views.article_draft_from_escalation_view,
        name="kb_draft_from_escalation",
    ),
    path("escalations/<int:pk>/accept/", views.escalation_accept_view, name="escalation_accept"),
    path("escalations/<int:pk>/return/", views.escalation_return_view, name="escalation_return"),
    path("escalations/<int:pk>/further/", views.escalation_further_view, name="escalation_further"),
    path("escalations/<int:pk>/resolve/", views.escalation_resolve_view, name="escalation_resolve"),
    path("escalations/<int:pk>/reassign/", views.escalation_reassign_view, name="escalation_reassign"),
    path("tickets/<str:reference>/calls/", views_calls.call_log_view, name="call_log"),
    path("calls/callbacks/", views_calls.my_callbacks_view, name="my_callbacks"),
    path("calls/telephony/events/", views_calls.telephony_event_view, name="telephony_event"),
    path("calls/screen-pop/", views_calls.screen_pop_view, name="screen_pop"),
    path("calls/callbacks/<int:pk>/complete/", views_calls.callback_complete_view, name="callback_complete"),
]
