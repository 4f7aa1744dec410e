"""The feedback demo seeder: answered surveys with a mix of scores (low ones with call-backs) and RCAs with
corrective actions; running it twice changes nothing."""

from django.core.management import call_command

from feedback.models import CorrectiveAction, FollowUpTask, RootCauseAnalysis, Survey
from helpdesk.models import TicketEvent


def test_demo_seed_has_feedback_and_is_idempotent(db):
    call_command("seed_demo", "--password", "pw-demo")
    counts = (
        Survey.objects.count(),
        Survey.objects.answered().count(),
        FollowUpTask.objects.count(),
        RootCauseAnalysis.objects.count(),
        CorrectiveAction.objects.count(),
        TicketEvent.objects.count(),
    )
    call_command("seed_demo", "--password", "pw-demo")
    assert (
        Survey.objects.count(),
        Survey.objects.answered().count(),
        FollowUpTask.objects.count(),
        RootCauseAnalysis.objects.count(),
        CorrectiveAction.objects.count(),
        TicketEvent.objects.count(),
    ) == counts
    answered = Survey.objects.answered()
    assert answered.count() >= 12
    scores = set(answered.values_list("csat", flat=True))
    assert {1, 2} & scores and {4, 5} & scores  # a mix, low and high
    assert Survey.objects.filter(answered_at__isnull=True, sent_at__isnull=False).exists()  # some unanswered
    low = answered.filter(csat__lte=2).count()
    assert FollowUpTask.objects.filter(kind="low_csat").count() == low
    assert RootCauseAnalysis.objects.count() == 4
    assert CorrectiveAction.objects.count() >= 3


def test_demo_conversations_rcas_and_comments_match_their_tickets(db):
    from feedback.demo import RCAS
    from helpdesk.demo import STORIES
    from helpdesk.models import EventKind, Role

    # given the demo data
    call_command("seed_demo", "--password", "pw-demo")

    # then every root-cause analysis starts from its own ticket's subject and is the analysis for its category
    rcas = RootCauseAnalysis.objects.select_related("ticket__category")
    assert rcas.count() == 4
    for rca in rcas:
        cause, preventable, whys, _ = RCAS[rca.ticket.category.slug]
        assert rca.five_whys.splitlines() == [f"{rca.ticket.subject}.", *whys]
        assert (rca.cause_category, rca.preventable) == (cause, preventable)

    # and every survey comment speaks of its own ticket
    for survey in Survey.objects.answered().exclude(comment="").select_related("ticket"):
        assert f"“{survey.ticket.subject}”" in survey.comment

    # and every message the demo's core wrote for an agent or a customer is one of its category's lines
    stories = {
        slug: {*story["replies"], *story["follow_ups"], *story["notes"], story["fixed"]}
        for slug, story in STORIES.items()
    }
    every_line = set().union(*stories.values())
    messages = TicketEvent.objects.filter(
        kind__in=[EventKind.AGENT_REPLY, EventKind.CUSTOMER_MESSAGE, EventKind.INTERNAL_NOTE]
    ).select_related("ticket__category", "actor")
    checked = 0
    for event in messages:
        if event.body in every_line:
            assert event.body in stories[event.ticket.category.slug], (event.ticket.subject, event.body)
            checked += 1
    assert checked >= 50
    assert not messages.filter(actor__role=Role.AGENT, body__contains="screenshot").exists()

    # and the surveys spread over the history: some answered in the last 28 days, some before
    from django.utils import timezone

    recent = timezone.now() - timezone.timedelta(days=28)
    assert Survey.objects.answered().filter(answered_at__gte=recent).exists()
    assert Survey.objects.answered().filter(answered_at__lt=recent).exists()
