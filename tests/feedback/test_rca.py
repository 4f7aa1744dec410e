"""Root-cause analyses: required to close an escalated ticket; knowledge gap drafts a KB article (through the
knowledge base's hook, faked here because that app is built in parallel); training gap coaches the agent who
escalated; managers review and reclassify."""

import sys
import types
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from feedback.models import CoachingItem, CorrectiveAction, RootCauseAnalysis
from feedback.rca import CorrectiveActionInput, rca_create, rca_review
from helpdesk.models import Status, TicketEvent
from helpdesk.services import ticket_change_status

WHYS = "The agent found no article.\nThe error is new.\nRelease notes never reached support."


@pytest.fixture
def fake_kb(monkeypatch):
    """Register a fake ``knowledge_base.services.article_draft_from_rca`` and record its calls."""
    calls = []

    def article_draft_from_rca(*, ticket, title, body, category, actor):
        calls.append({"ticket": ticket, "title": title, "body": body, "category": category, "actor": actor})
        return types.SimpleNamespace(pk=4242, title=title)

    module = types.ModuleType("knowledge_base.services")
    module.article_draft_from_rca = article_draft_from_rca
    monkeypatch.setitem(sys.modules, "knowledge_base.services", module)
    return calls


@pytest.fixture
def no_kb(monkeypatch):
    monkeypatch.setitem(sys.modules, "knowledge_base.services", None)  # importing it raises ImportError


@pytest.fixture
def resolved_ticket(escalated_ticket, resolve):
    resolve(escalated_ticket)
    return escalated_ticket


def action(owner, description="Write the article"):
    return CorrectiveActionInput(description=description, owner=owner, due_date=date(2030, 1, 31))


def test_knowledge_gap_drafts_a_kb_article_through_the_hook(resolved_ticket, manager, fake_kb):
    # when the manager writes a knowledge-gap RCA
    rca = rca_create(
        ticket=resolved_ticket,
        actor=manager,
        cause_category="knowledge_gap",
        preventable=True,
        five_whys=WHYS,
        actions=[action(manager)],
    )
    # then the KB hook was asked for a draft with the ticket's facts, and the article is linked
    assert len(fake_kb) == 1
    call = fake_kb[0]
    assert (call["ticket"], call["actor"], call["category"]) == (resolved_ticket, manager, resolved_ticket.category)
    assert call["title"] == "How to fix: Dashboard not loading"
    assert "A stuck cache node was replaced" in call["body"] and WHYS in call["body"]
    assert rca.kb_article_id == 4242
    assert list(rca.actions.values_list("description", "owner__username")) == [("Write the article", "manager")]
    event = TicketEvent.objects.get(ticket=resolved_ticket, kind="rca")
    assert (event.is_public, event.body) == (False, "Root cause: Knowledge gap (preventable); 1 corrective action(s).")


def test_knowledge_gap_without_the_kb_app_still_saves_the_rca(resolved_ticket, manager, no_kb):
    rca = rca_create(
        ticket=resolved_ticket, actor=manager, cause_category="knowledge_gap", preventable=False, five_whys=WHYS
    )
    assert rca.kb_article_id is None


def test_training_gap_adds_a_coaching_item_for_the_agent_who_escalated(resolved_ticket, manager, agent, fake_kb):
    rca = rca_create(
        ticket=resolved_ticket,
        actor=manager,
        cause_category="training_gap",
        preventable=True,
        five_whys=WHYS,
        actions=[action(agent, "Refresher on cache diagnostics")],
    )
    item = CoachingItem.objects.get()
    assert (item.agent, item.rca) == (agent, rca)
    assert item.note.startswith(f"{resolved_ticket.reference} “Dashboard not loading”: training gap.")
    assert fake_kb == []


@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        ({"cause_category": "bad_luck"}, {"cause_category": ["Choose the cause category."]}),
        ({"five_whys": "  "}, {"five_whys": ["Write the five whys: why did it happen, and why did that happen?"]}),
        ({"preventable": True}, {"actions": ["A preventable cause needs at least one corrective action."]}),
        (
            {"actions": [CorrectiveActionInput(description="", owner=None, due_date=None)]},
            {
                "actions": [
                    "Corrective action 1: describe the action.",
                    "Corrective action 1: choose a staff member as owner.",
                    "Corrective action 1: give a due date.",
                ]
            },
        ),
    ],
)
def test_rca_validation_messages(resolved_ticket, manager, kwargs, errors):
    base = {"cause_category": "process_gap", "preventable": False, "five_whys": WHYS, "actions": []}
    with pytest.raises(ValidationError) as caught:
        rca_create(ticket=resolved_ticket, actor=manager, **{**base, **kwargs})
    assert caught.value.message_dict == errors
    assert not RootCauseAnalysis.objects.exists()


def test_an_owner_must_be_staff(resolved_ticket, manager, customer):
    with pytest.raises(ValidationError) as caught:
        rca_create(
            ticket=resolved_ticket,
            actor=manager,
            cause_category="process_gap",
            preventable=True,
            five_whys=WHYS,
            actions=[action(customer)],
        )
    assert caught.value.message_dict == {"actions": ["Corrective action 1: choose a staff member as owner."]}


def test_rca_needs_a_resolved_ticket_and_is_written_once(escalated_ticket, resolve, manager):
    with pytest.raises(ValidationError) as caught:
        rca_create(ticket=escalated_ticket, actor=manager, cause_category="policy", preventable=False, five_whys=WHYS)
    assert caught.value.messages == ["Resolve the ticket before writing its root-cause analysis."]
    resolve(escalated_ticket)
    rca_create(ticket=escalated_ticket, actor=manager, cause_category="policy", preventable=False, five_whys=WHYS)
    with pytest.raises(ValidationError) as caught:
        rca_create(ticket=escalated_ticket, actor=manager, cause_category="policy", preventable=False, five_whys=WHYS)
    assert caught.value.messages == [
        "This ticket already has a root-cause analysis; a manager can reclassify it from the review queue."
    ]


def test_with_an_rca_the_escalated_ticket_closes(resolved_ticket, manager):
    rca_create(ticket=resolved_ticket, actor=manager, cause_category="third_party", preventable=False, five_whys=WHYS)
    ticket_change_status(ticket=resolved_ticket, actor=manager, status=Status.CLOSED)
    assert resolved_ticket.status == Status.CLOSED


def test_a_manager_reclassifies_and_the_new_category_applies(resolved_ticket, manager, agent, fake_kb):
    rca = rca_create(
        ticket=resolved_ticket, actor=agent, cause_category="process_gap", preventable=False, five_whys=WHYS
    )
    # an agent may not review
    with pytest.raises(PermissionDenied):
        rca_review(rca=rca, actor=agent, cause_category="knowledge_gap")
    # the manager reclassifies it as a knowledge gap
    rca = rca_review(rca=rca, actor=manager, cause_category="knowledge_gap", note="The KB had nothing on this.")
    assert (rca.cause_category, rca.reclassified_from, rca.reviewed_by) == ("knowledge_gap", "process_gap", manager)
    assert rca.kb_article_id == 4242 and len(fake_kb) == 1
    event = TicketEvent.objects.filter(ticket=resolved_ticket, kind="rca").latest("id")
    assert event.body == "Root cause reclassified from Process gap to Knowledge gap.\nThe KB had nothing on this."


def test_rca_form_saves_and_closes_then_the_queue_reviews(resolved_ticket, manager, client, login, no_kb):
    login(manager)
    ref = resolved_ticket.reference
    assert client.get(f"/tickets/{ref}/").content.decode().count("Write the RCA and close") == 1
    form = {
        "cause_category": "product_defect",
        "preventable": "yes",
        "five_whys": WHYS,
        "close_ticket": "on",
        "actions-TOTAL_FORMS": "3",
        "actions-INITIAL_FORMS": "0",
        "actions-0-description": "Add an alert for stuck cache nodes",
        "actions-0-owner": str(manager.pk),
        "actions-0-due_date": "2030-02-01",
    }
    # a preventable cause without actions is refused next to the form
    bad = client.post(
        f"/tickets/{ref}/rca/", {**form, "actions-0-description": "", "actions-0-owner": "", "actions-0-due_date": ""}
    )
    assert bad.status_code == 400
    assert "A preventable cause needs at least one corrective action." in bad.content.decode()
    # the full form saves the RCA and closes the ticket
    response = client.post(f"/tickets/{ref}/rca/", form)
    assert response.status_code == 302
    resolved_ticket.refresh_from_db()
    assert resolved_ticket.status == Status.CLOSED
    assert CorrectiveAction.objects.get().description == "Add an alert for stuck cache nodes"
    # the review queue lists it and the manager reclassifies it
    rca = RootCauseAnalysis.objects.get()
    assert ref in client.get("/rca/review/").content.decode()
    client.post(f"/rca/{rca.pk}/review/", {"cause_category": "process_gap", "note": ""})
    rca.refresh_from_db()
    assert (rca.cause_category, rca.reclassified_from) == ("process_gap", "product_defect")
    assert "No root-cause analyses are waiting for review." in client.get("/rca/review/").content.decode()


def test_the_review_queue_is_for_managers(agent, client, login):
    login(agent)
    assert client.get("/rca/review/").status_code == 403
