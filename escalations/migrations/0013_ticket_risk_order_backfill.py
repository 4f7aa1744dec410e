"""The queue's stored risk sort key (``Ticket.risk_order``, helpdesk 0025) for the assessments that already exist:
the score negated (tickets without an assessment keep the column's default, 1)."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Value


def backfill(apps, schema_editor):
    Ticket = apps.get_model("helpdesk", "Ticket")
    RiskAssessment = apps.get_model("escalations", "RiskAssessment")
    small = models.SmallIntegerField()
    score = RiskAssessment.objects.filter(ticket_id=OuterRef("pk")).values("score")[:1]
    Ticket.objects.filter(pk__in=RiskAssessment.objects.values("ticket_id")).update(
        risk_order=Value(0, output_field=small) - Subquery(score, output_field=small)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("escalations", "0012_escalation_list_indexes"),
        ("helpdesk", "0026_ticket_risk_order"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
