"""Celery tasks: thin wrappers over idempotent services."""

from celery import shared_task


@shared_task(acks_late=True)
def vendor_followups_remind_task() -> int:
    """Beat: remind owners of vendor cases whose follow-up date has passed (idempotent: once per case and date)."""
    from django.utils import timezone

    from escalations.services import vendor_followups_due_remind

    return vendor_followups_due_remind(now=timezone.now())


@shared_task(acks_late=True)
def risk_model_train_task(seed: int = 0) -> int | None:
    """Beat (weekly): train a new version of the likely-to-escalate model on the closed tickets and, when it is
    good enough to be activated, re-score the open tickets. Returns the new version, or None with too little
    history (the rules alone stay in charge)."""
    from django.utils import timezone

    from escalations.risk_model.scoring import risk_score_open_tickets
    from escalations.risk_model.train import RiskTrainingError, risk_model_train

    try:
        model = risk_model_train(seed=seed, now=timezone.now())
    except RiskTrainingError:
        return None
    if model.is_active:
        risk_score_open_tickets()
    return model.version
