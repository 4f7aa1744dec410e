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
