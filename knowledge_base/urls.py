from django.contrib.sitemaps.views import sitemap
from django.urls import path

from knowledge_base import help_centre, views

urlpatterns = [
    path("kb/", views.article_list_view, name="kb_list"),
    path("kb/suggest/", views.suggest_view, name="kb_suggest"),
    path("kb/review/", views.review_queue_view, name="kb_review_queue"),
    path("kb/review/<int:pk>/", views.proposal_decide_view, name="kb_proposal_decide"),
    path("kb/health/", views.health_view, name="kb_health"),
    path("kb/articles/new/", views.article_create_view, name="kb_article_new"),
    path("kb/articles/<int:pk>/", views.article_detail_view, name="kb_article_detail"),
    path("kb/articles/<int:pk>/edit/", views.article_edit_view, name="kb_article_edit"),
    path("kb/articles/<int:pk>/history/", views.article_history_view, name="kb_article_history"),
    path("kb/articles/<int:pk>/status/", views.article_status_view, name="kb_article_status"),
    path("kb/articles/<int:pk>/reviewed/", views.article_reviewed_view, name="kb_article_reviewed"),
    path("kb/articles/<int:pk>/vote/", views.article_vote_view, name="kb_article_vote"),
    path("kb/articles/<int:pk>/propose/", views.article_propose_view, name="kb_article_propose"),
    path("kb/articles/<int:pk>/solved/", views.deflection_confirm_view, name="kb_deflection_confirm"),
    path("kb/articles/<int:pk>/insert/<str:reference>/", views.article_insert_view, name="kb_article_insert"),
    path("kb/articles/<int:pk>/used/<str:reference>/", views.article_use_view, name="kb_article_use"),
    path("kb/tickets/<str:reference>/suggestions/", views.ticket_suggestions_view, name="kb_ticket_suggestions"),
    # The public help centre (no account needed). Fixed paths first: a category slug cannot shadow them.
    path("help/", help_centre.help_home_view, name="help"),
    path("help/<slug:category_slug>/", help_centre.help_category_view, name="help_category"),
    path("help/<slug:category_slug>/<slug:article_slug>/", help_centre.help_article_view, name="help_article"),
    path(
        "help/<slug:category_slug>/<slug:article_slug>/vote/",
        help_centre.help_article_vote_view,
        name="help_article_vote",
    ),
    path(
        "help/<slug:category_slug>/<slug:article_slug>/solved/",
        help_centre.help_article_solved_view,
        name="help_article_solved",
    ),
    path("contact/", help_centre.help_contact_view, name="help_contact"),
    path("contact/suggest/", help_centre.help_suggest_view, name="help_suggest"),
    path("contact/sent/", help_centre.help_contact_sent_view, name="help_contact_sent"),
    path("contact/confirm/<str:token>/", help_centre.help_contact_confirm_view, name="help_contact_confirm"),
    path("sitemap.xml", help_centre.help_sitemap_index_view, name="sitemap"),
    path("sitemap-<slug:section>.xml", sitemap, {"sitemaps": help_centre.SITEMAPS}, name="sitemap_section"),
]
