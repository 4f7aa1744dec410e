"""After the escalation: resolution criteria, customer survey, follow-up check-in and root-cause analysis.

How it fits together (``helpdesk`` never imports this app; ``FeedbackConfig.ready`` plugs it in):

- **Resolution criteria** — a status guard (``helpdesk.guards``) refuses "resolved" for a ticket with any
  Escalation until (1) a resolution summary exists (the latest escalation's ``resolution_summary`` or one recorded
  with ``resolution_record``), (2) a public agent reply was written at or after that summary
  (``resolution_send_to_customer`` sends one built from the summary), and (3) every team that escalated it (each
  hop's ``from_team``) was notified at or after the summary (``resolution_notify_escalating_team``, or an outbox row
  of kind ``escalation_resolved`` to a member, if the escalation engine sends one). "Closed" needs an RCA.
- **Survey** — resolving writes a Survey row due ``FEEDBACK_SURVEY_DELAY_MINUTES`` later (every escalated ticket;
  others when ``survey_is_sampled``: a stable hash of the ticket id under ``FEEDBACK_SURVEY_SAMPLE_RATE``). The beat
  task ``send_due_surveys_task`` (every minute) sends what is due and one reminder after
  ``FEEDBACK_SURVEY_REMINDER_HOURS``; no countdown tasks sit in Redis. The link is ``signing.dumps`` (salted) of the
  survey id and a random nonce; single use is a conditional UPDATE; expiry (``FEEDBACK_SURVEY_EXPIRY_DAYS``) is the
  row's ``expires_at``. One survey per ticket: a reopening before sending postpones it; after sending, no second.
- **Follow-ups** — CSAT ≤ 2 gives the team lead a call-back task; ``create_due_checkins_task`` gives the assignee a
  check-in ``FEEDBACK_CHECKIN_DAYS_BY_PLAN[plan code]`` (default ``FEEDBACK_CHECKIN_DEFAULT_DAYS``) days after an
  escalated ticket is resolved. "Reopened" reopens through ``helpdesk.services.ticket_change_status``.
- **RCA** — one per ticket, with corrective actions; knowledge gap asks ``knowledge_base.services.
  article_draft_from_rca`` for a draft (when that app provides it), training gap coaches the agent who escalated;
  managers confirm or reclassify from the review queue (the old category is kept).
- Operators and tests drive time with ``python manage.py feedback_sweep --at ISO-8601``.
"""
