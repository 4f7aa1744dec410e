"""The workspace's risk panel with the model's reasons, in a real browser at laptop, wide and phone widths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.browser import sign_in

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_workspace_risk_panel_shows_the_models_reasons(
    live_server, browser, screenshot_dir, customer, agent, make_ticket
):
    from escalations.models import RiskAssessment
    from escalations.risk_model.history import history_generate
    from escalations.risk_model.scoring import risk_score_tickets
    from escalations.risk_model.train import risk_model_train
    from helpdesk.services import ticket_reply

    # given a trained model and an open ticket of a customer who escalates often, scored after a message
    history_generate(n=300, seed=11, now=NOW, customers=30, known=[customer])
    assert risk_model_train(seed=0, now=NOW).is_active
    ticket = make_ticket(customer, description="The export fails again.")
    ticket_reply(ticket=ticket, author=customer, body="This is the third time I ask. Please escalate.")
    risk_score_tickets(ticket_ids=[ticket.pk])
    reasons = [reason["text"] for reason in RiskAssessment.objects.get(ticket=ticket).explanations]
    # when the agent opens the workspace
    page = sign_in(browser, live_server.url, "agent")
    for width in (1280, 1920, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/tickets/{ticket.reference}/")
        panel = page.locator("section", has=page.get_by_role("heading", name="Escalation risk"))
        # then the panel names the likelihood and each reason in words
        assert "Likely to escalate:" in panel.inner_text()
        for reason in reasons:
            assert reason in panel.inner_text()
        panel.scroll_into_view_if_needed()
        panel.screenshot(path=screenshot_dir / f"risk-panel-{width}.png")
