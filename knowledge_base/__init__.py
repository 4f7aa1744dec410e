"""The knowledge base: articles (internal/public, draft → published), search, suggestions, feedback and proposals.

Plugs into the other screens without them importing it, except through these documented points:
- ``templates/knowledge_base/_suggest_widget.html``: include inside the new-ticket form (as-you-type suggestions;
  ``kb_suggest`` reads ``q``, ``subject`` and ``description``);
- ``selectors.articles_for_escalation(ticket=, user=)`` + ``_before_you_escalate.html`` for the escalate form;
- ``_draft_from_escalation_button.html`` (POST ``kb_draft_from_escalation``) for a resolved escalation;
- ``services.article_draft_from_rca(ticket=, title=, body=, category=, actor=)`` for the RCA "knowledge gap";
- the workspace panel, nav items and demo seeder are registered in ``apps.py``.
"""
