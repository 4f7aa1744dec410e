"""Service tests for every escalation flow and guard."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from escalations.compensation import compensation_decide, compensation_request_create
from escalations.errors import EscalationConflict
from escalations.models import (
    CompensationStatus,
    Escalation,
    EscalationMode,
    EscalationStatus,
    RequestedBy,
    TierApprovalLimit,
    VendorCase,
)
from escalations.services import (
    escalation_accept,
    escalation_escalate_further,
    escalation_reassign,
    escalation_request_manager,
    escalation_resolve,
    escalation_return,
    manager_request_check,
    vendor_followups_due_remind,
)
from helpdesk.models import Notification, Status
from helpdesk.services import ticket_reply


def messages_of(exc_info) -> dict:
    return exc_info.value.message_dict


# --- escalate ---------------------------------------------------------------------------------------------------


def test_escalate_requires_the_whole_dossier(config, customer, agent, make_ticket, escalate):
    # given a ticket
    ticket = make_ticket(customer, category="outage")
    # when the agent escalates with an empty dossier
    with pytest.raises(ValidationError) as exc:
        escalate(
            ticket, agent, reason="", dossier_problem=" ", dossier_tried="", dossier_desired_outcome="", dossier_mood=""
        )
    # then every dossier field is named, and nothing was created
    assert messages_of(exc) == {
        "reason": ["Say why this needs to be escalated."],
        "dossier_problem": ["Describe the problem, so the receiver does not have to ask the customer again."],
        "dossier_tried": ["List what was already tried, even if nothing was."],
        "dossier_desired_outcome": ["Say what the customer wants to happen next."],
        "dossier_mood": ["Choose the customer's mood."],
    }
    assert not Escalation.objects.exists()


def test_escalate_functional_notifies_team_and_tells_customer_in_plain_words(
    config, customer, agent, specialist, make_ticket, escalate, mailoutbox
):
    # given an outage ticket at tier 1
    ticket = make_ticket(customer, category="outage")
    # when the agent escalates it functionally
    escalation = escalate(ticket, agent, "technical", "functional")
    # then it is open at level 1 for the technical team, with the dossier
    assert (escalation.status, escalation.level, escalation.to_team.slug) == ("open", 1, "technical")
    assert (escalation.from_tier, escalation.to_tier, escalation.requested_by) == (1, 2, agent)
    assert escalation.ack_due_at == escalation.created_at + timedelta(minutes=30)
    # and the receiving team is notified in-app
    assert specialist.notifications.filter(kind="escalation_technical", channel="in_app").exists()
    # and the customer gets a public event and an email in plain words (no tiers, no jargon)
    public = ticket.events.filter(kind="escalated", is_public=True).get()
    assert public.body.startswith(
        "We have passed your request to our Technical team so that the right people handle it."
    )
    assert "tier" not in public.body.lower()
    email = Notification.objects.get(recipient=customer, channel="email", kind="customer_escalated")
    assert email.body.startswith("Hello Dana Reyes,\n\nWe have passed your request to our Technical team")
    # and the internal event keeps the detail for staff
    internal = ticket.events.get(kind="escalated", is_public=False)
    assert internal.data["to_tier"] == 2 and internal.data["mode"] == "functional"


def test_escalate_hierarchical_goes_up_a_tier(config, customer, agent, manager, make_ticket, escalate):
    # given a billing ticket (the technical path's first level is tier 2)
    ticket = make_ticket(customer, category="outage")
    # when the agent escalates for more authority
    escalation = escalate(ticket, agent, "managerial", "hierarchical")
    # then it goes to the managers (tier 3)
    assert (escalation.mode, escalation.to_tier, escalation.to_team.slug) == ("hierarchical", 3, "managers")


def test_a_second_escalation_while_one_is_active_is_refused(config, customer, agent, agent2, make_ticket, escalate):
    # given an escalated ticket
    ticket = make_ticket(customer, category="outage")
    escalate(ticket, agent)
    # when another agent (or a double click) escalates again
    with pytest.raises(EscalationConflict) as exc:
        escalate(ticket, agent2)
    # then it is refused with a clear message and only one record exists
    assert str(exc.value).startswith("This ticket is already escalated to Technical (open since ")
    assert str(exc.value).endswith("Use “Escalate further” on that escalation instead; nothing new was created.")
    assert Escalation.objects.filter(ticket=ticket).count() == 1


def test_customers_cannot_escalate_directly(config, customer, make_ticket, escalate):
    ticket = make_ticket(customer, category="outage")
    with pytest.raises(PermissionDenied):
        escalate(ticket, customer)


# --- accept -----------------------------------------------------------------------------------------------------


def test_accept_moves_the_ticket_to_the_receiver_and_tells_the_customer(
    config, customer, agent, specialist, make_ticket, escalate
):
    # given an open escalation to the technical team
    ticket = make_ticket(customer, category="outage")
    escalation = escalate(ticket, agent)
    # when the specialist accepts it
    escalation_accept(escalation=escalation, actor=specialist)
    # then they own it and the ticket moved to their team and tier
    escalation.refresh_from_db()
    ticket.refresh_from_db()
    assert (escalation.status, escalation.accepted_by) == ("accepted", specialist)
    assert (ticket.team.slug, ticket.tier, ticket.assignee) == ("technical", 2, specialist)
    told = ticket.events.filter(kind="escalation_accepted", is_public=True).get()
    assert told.body == "Priya from our Technical team is now handling your request and will reply here."
    assert agent.notifications.filter(kind="escalation_accepted").exists()


def test_the_second_accept_gets_a_clear_message(config, customer, agent, specialist, manager, make_ticket, escalate):
    # given an escalation that two people open at the same time
    ticket = make_ticket(customer, category="outage")
    escalation = escalate(ticket, agent)
    stale_copy = Escalation.objects.get(pk=escalation.pk)
    escalation_accept(escalation=escalation, actor=specialist)
    # when the second one accepts from their stale page
    with pytest.raises(EscalationConflict) as exc:
        escalation_accept(escalation=stale_copy, actor=manager)
    # then they are told who won, and the owner did not change
    assert str(exc.value).startswith("Priya Shah accepted this escalation at ")
    assert str(exc.value).endswith("; it is theirs now. Nothing of yours was changed.")
    stale_copy.refresh_from_db()
    assert stale_copy.accepted_by == specialist


def test_only_the_receiving_team_or_a_manager_can_accept(config, customer, agent, agent2, make_ticket, escalate):
    ticket = make_ticket(customer, category="outage")
    escalation = escalate(ticket, agent)
    with pytest.raises(PermissionDenied) as exc:
        escalation_accept(escalation=escalation, actor=agent2)
    assert str(exc.value) == "This escalation is for Technical; only its members or a manager can accept it."


# --- return, further, resolve ---------------------------------------------------------------------------------------


def test_return_needs_guidance_and_counts_as_avoidable(config, customer, agent, specialist, make_ticket, escalate):
    # given an escalation accepted by the specialist
    ticket = make_ticket(customer, category="outage")
    escalation = escalate(ticket, agent)
    escalation_accept(escalation=escalation, actor=specialist)
    # when they return it without guidance, then with
    with pytest.raises(ValidationError) as exc:
        escalation_return(escalation=escalation, actor=specialist, guidance="  ")
    assert messages_of(exc) == {
        "guidance": ["Write the guidance for the sender: what they can do themselves next time."]
    }
    escalation_return(escalation=escalation, actor=specialist, guidance="Use the KB article 'Reset SSO'.")
    # then it is returned (avoidable), and the ticket is back with the sender, who gets the guidance
    escalation.refresh_from_db()
    ticket.refresh_from_db()
    assert escalation.status == EscalationStatus.RETURNED and escalation.is_avoidable
    assert (ticket.team.slug, ticket.assignee, ticket.tier) == ("frontline", agent, 1)
    assert agent.notifications.filter(
        kind="escalation_returned", body="Guidance: Use the KB article 'Reset SSO'."
    ).exists()


def test_escalate_further_keeps_every_hop(config, customer, agent, specialist, manager, make_ticket, escalate):
    # given an escalation accepted at tier 2
    ticket = make_ticket(customer, category="outage")
    first = escalate(ticket, agent)
    escalation_accept(escalation=first, actor=specialist)
    # when the specialist escalates it further
    second = escalation_escalate_further(
        escalation=first, actor=specialist, reason="Needs a decision on a refund.", dossier_tried="Restarted the node."
    )
    # then the first hop is superseded, the second is open at tier 3 and links back
    first.refresh_from_db()
    assert first.status == EscalationStatus.SUPERSEDED
    assert (second.level, second.from_tier, second.to_tier, second.previous) == (2, 2, 3, first)
    assert second.dossier_tried.endswith("Priya Shah (tier 2): Restarted the node.")
    assert [hop.pk for hop in second.chain()] == [first.pk, second.pk]
    # and nobody can escalate the superseded hop again
    with pytest.raises(EscalationConflict):
        escalation_escalate_further(escalation=first, actor=specialist, reason="again")
    # and tier 3 has no higher level
    escalation_accept(escalation=second, actor=manager)
    with pytest.raises(ValidationError) as exc:
        escalation_escalate_further(escalation=second, actor=manager, reason="higher")
    assert exc.value.messages == ["This escalation is already with tier 3; there is no higher level to escalate to."]


def test_resolve_needs_a_summary_and_tells_the_customer(config, customer, agent, specialist, make_ticket, escalate):
    # given an accepted escalation
    ticket = make_ticket(customer, category="outage")
    escalation = escalate(ticket, agent)
    with pytest.raises(ValidationError) as exc:
        escalation_resolve(escalation=escalation, actor=specialist, summary="Fixed")
    assert exc.value.messages == ["Accept the escalation before resolving it."]
    escalation_accept(escalation=escalation, actor=specialist)
    # when it is resolved without, then with a summary
    with pytest.raises(ValidationError) as exc:
        escalation_resolve(escalation=escalation, actor=specialist, summary="")
    assert messages_of(exc) == {"summary": ["Write the resolution summary: what was done for the customer."]}
    escalation_resolve(escalation=escalation, actor=specialist, summary="We restarted the failed node.")
    # then the escalation and the ticket are resolved, and the customer read what was done
    escalation.refresh_from_db()
    ticket.refresh_from_db()
    assert escalation.status == "resolved" and ticket.status == Status.RESOLVED
    told = ticket.events.get(kind="escalation_resolved", is_public=True)
    assert told.body.startswith("Priya has resolved your request. What we did: We restarted the failed node.")
    assert Notification.objects.filter(
        recipient=customer, channel="email", kind="customer_escalation_resolved"
    ).exists()


def test_only_a_manager_reassigns(
    config, customer, agent, specialist, compliance_officer, manager, teams, make_ticket, escalate
):
    ticket = make_ticket(customer, category="outage")
    escalation = escalate(ticket, agent)
    with pytest.raises(PermissionDenied):
        escalation_reassign(escalation=escalation, actor=specialist, team=teams["managers"])
    # when a manager reassigns it, a new hop at the same level opens for the managers (the chain keeps every hop)
    new = escalation_reassign(escalation=escalation, actor=manager, team=teams["managers"])
    escalation.refresh_from_db()
    assert (new.to_team, new.to_tier, new.status) == (teams["managers"], 3, "open")
    assert (escalation.status, new.previous_id, new.level) == ("superseded", escalation.pk, escalation.level)


# --- the customer's request for a manager -----------------------------------------------------------------------------


def test_manager_request_is_refused_too_early_with_the_time_it_becomes_possible(config, customer, manager, make_ticket):
    # given a ticket opened just now, without an SLA deadline
    ticket = make_ticket(customer, category="outage")
    # when the customer asks for a manager at once
    with pytest.raises(ValidationError) as exc:
        escalation_request_manager(ticket=ticket, customer=customer, reason="Nobody helps")
    # then they are told when they can
    assert exc.value.messages[0].startswith("You can ask for a manager from ")
    assert exc.value.messages[0].endswith(" if we have not resolved this by then.")


def test_manager_request_after_idle_hours_becomes_a_hierarchical_escalation(
    config, customer, agent, manager, make_ticket
):
    # given a ticket with no reply from us for 25 hours
    ticket = make_ticket(customer, category="outage")
    later = timezone.now() + timedelta(hours=25)
    # when the customer asks without a reason, then with one
    with pytest.raises(ValidationError) as exc:
        escalation_request_manager(ticket=ticket, customer=customer, reason=" ", now=later)
    assert messages_of(exc) == {"reason": ["Please tell us why you would like a manager to look at this."]}
    escalation = escalation_request_manager(ticket=ticket, customer=customer, reason="No answer for a day.", now=later)
    # then it is a hierarchical, managerial escalation requested by the customer, to tier 3
    assert (escalation.mode, escalation.escalation_type) == (EscalationMode.HIERARCHICAL, "managerial")
    assert (escalation.requested_by_kind, escalation.requested_by, escalation.to_tier) == (
        RequestedBy.CUSTOMER,
        customer,
        3,
    )
    assert ticket.events.filter(kind="manager_requested", is_public=True, body="No answer for a day.").exists()
    assert manager.notifications.filter(kind="escalation_managerial").exists()
    # and a second request is refused: one open request at most
    check = manager_request_check(ticket=ticket, customer=customer, now=later)
    assert not check.allowed
    assert check.message.startswith("You asked for a manager on ")
    assert check.message.endswith("; a manager will contact you soon.")


def test_manager_request_after_a_share_of_the_sla(config, customer, manager, make_ticket, settings):
    # given a ticket whose SLA runs 10 hours, and a 50% share configured
    settings.ESCALATION_MANAGER_REQUEST_SLA_SHARE = 0.5
    ticket = make_ticket(customer, category="outage")
    ticket.sla_due_at = ticket.created_at + timedelta(hours=10)
    # then 4 hours in it is not possible, 5 hours in it is
    assert not manager_request_check(
        ticket=ticket, customer=customer, now=ticket.created_at + timedelta(hours=4)
    ).allowed
    assert manager_request_check(ticket=ticket, customer=customer, now=ticket.created_at + timedelta(hours=5)).allowed


def test_agent_activity_resets_the_idle_clock(config, customer, agent, manager, make_ticket):
    ticket = make_ticket(customer, category="outage")
    ticket_reply(ticket=ticket, author=agent, body="Looking into it.")
    reply_time = ticket.events.get(kind="agent_reply").created_at
    assert not manager_request_check(ticket=ticket, customer=customer, now=reply_time + timedelta(hours=23)).allowed
    assert manager_request_check(ticket=ticket, customer=customer, now=reply_time + timedelta(hours=24)).allowed


def test_manager_requests_are_rate_limited_per_customer(config, customer, manager, make_ticket, settings):
    # given a limit of 2 requests a day and two tickets where the customer already asked
    settings.ESCALATION_MANAGER_REQUEST_MAX_PER_DAY = 2
    later = timezone.now() + timedelta(hours=25)
    for subject in ("One", "Two"):
        ticket = make_ticket(customer, subject=subject, category="outage")
        escalation_request_manager(ticket=ticket, customer=customer, reason="Please", now=later)
    third = make_ticket(customer, subject="Three", category="outage")
    # when they ask on a third ticket
    with pytest.raises(ValidationError) as exc:
        escalation_request_manager(ticket=third, customer=customer, reason="Please", now=later + timedelta(hours=1))
    # then the rate limit says when they can ask again
    assert exc.value.messages[0].startswith(
        "You have asked for a manager 2 times in the last 24 hours. You can ask again from "
    )


def test_only_the_customers_side_can_request_a_manager(config, customer, customer2, make_ticket):
    ticket = make_ticket(customer, category="outage")
    with pytest.raises(PermissionDenied):
        escalation_request_manager(ticket=ticket, customer=customer2, reason="x")


# --- emergency ----------------------------------------------------------------------------------------------------


def test_emergency_pages_every_manager_by_every_channel_until_accepted(
    config, customer, agent, manager, make_ticket, escalate, django_user_model
):
    # given two managers, one of them away
    other = django_user_model.objects.create_user(
        username="m2", password="pw-m2", role="manager", email="m2@example.test"
    )
    away = django_user_model.objects.create_user(
        username="m3", password="pw-m3", role="manager", email="m3@example.test", is_available=False
    )
    ticket = make_ticket(customer, category="outage")
    # when an agent raises an emergency
    escalation = escalate(ticket, agent, "emergency", "hierarchical", caller_waiting=True)
    # then every manager on call got an email and an in-app notification, and the ticket is pinned
    for person in (manager, other):
        channels = set(person.notifications.filter(kind="escalation_emergency").values_list("channel", flat=True))
        assert channels == {"email", "in_app"}
    assert not away.notifications.exists()
    ticket.refresh_from_db()
    assert ticket.is_emergency
    assert escalation.ack_due_at == escalation.created_at + timedelta(minutes=10)
    # when a manager accepts, the emergency flag clears
    escalation_accept(escalation=escalation, actor=manager)
    ticket.refresh_from_db()
    assert not ticket.is_emergency


# --- financial --------------------------------------------------------------------------------------------------------


def test_compensation_within_the_limit_is_auto_approved(config, customer, agent, make_ticket, escalate):
    ticket = make_ticket(customer, category="billing")
    escalation = escalate(ticket, agent, "financial", "functional", compensation_amount="50.00")
    request = escalation.compensation_requests.get()
    assert (request.status, request.decided_by, request.requester_limit) == (
        CompensationStatus.AUTO_APPROVED,
        agent,
        Decimal("50.00"),
    )
    assert list(ticket.events.filter(kind="compensation", is_public=True).values_list("body", flat=True)) == [
        "We have credited £50.00 to your account."
    ]
    email = Notification.objects.get(kind="customer_compensation_granted", channel="email", recipient=customer)
    assert email.body == "Hello Dana Reyes,\n\nWe have credited £50.00 to your account."


def test_financial_escalation_needs_an_amount(config, customer, agent, make_ticket, escalate):
    ticket = make_ticket(customer, category="billing")
    with pytest.raises(ValidationError) as exc:
        escalate(ticket, agent, "financial", "functional")
    assert messages_of(exc) == {"compensation_amount": ["A financial escalation needs the compensation amount."]}


def test_compensation_above_the_limit_waits_for_a_manager_whose_limit_covers_it(
    config, customer, agent, specialist, manager, make_ticket
):
    # given a specialist (limit £250) asking for £400
    ticket = make_ticket(customer, category="billing")
    request = compensation_request_create(
        ticket=ticket, actor=specialist, amount="400", currency="GBP", reason="Lost day"
    )
    # then it is pending and the manager (limit £2,500) is asked; the customer hears nothing of a pending request
    assert request.status == CompensationStatus.PENDING
    assert manager.notifications.filter(
        kind="compensation_pending", subject=f"Approval needed: £400.00 for {ticket.reference}"
    ).exists()
    assert not ticket.events.filter(kind="compensation", is_public=True).exists()
    assert not Notification.objects.filter(recipient=customer, kind__startswith="compensation").exists()
    # when the manager approves it
    compensation_decide(request=request, actor=manager, approve=True, note="OK")
    # then it is approved and the customer is told
    request.refresh_from_db()
    assert (request.status, request.decided_by) == (CompensationStatus.APPROVED, manager)
    assert list(ticket.events.filter(kind="compensation", is_public=True).values_list("body", flat=True)) == [
        "We have credited £400.00 to your account."
    ]
    assert Notification.objects.filter(
        kind="customer_compensation_granted", channel="email", recipient=customer
    ).exists()
    # and a second decision is refused
    with pytest.raises(EscalationConflict) as exc:
        compensation_decide(request=request, actor=manager, approve=False, note="no")
    assert str(exc.value) == "Morgan Blake already decided this request (approved)."


def test_a_rejected_compensation_request_is_never_shown_to_the_customer(
    config, customer, specialist, manager, make_ticket
):
    # given a pending request above the specialist's limit
    ticket = make_ticket(customer, category="billing")
    request = compensation_request_create(
        ticket=ticket, actor=specialist, amount="400", currency="GBP", reason="Lost day"
    )
    # when a manager rejects it
    compensation_decide(request=request, actor=manager, approve=False, note="Already refunded last month.")
    # then the requester learns why, and the customer sees and receives nothing about it
    assert specialist.notifications.filter(kind="compensation_rejected", body="Already refunded last month.").exists()
    assert not ticket.events.filter(kind="compensation", is_public=True).exists()
    assert not Notification.objects.filter(recipient=customer, kind__contains="compensation").exists()


def test_nobody_approves_their_own_request(config, customer, manager, make_ticket):
    ticket = make_ticket(customer, category="billing")
    TierApprovalLimit.objects.filter(tier=3, currency="GBP").update(amount=Decimal("100"))
    request = compensation_request_create(ticket=ticket, actor=manager, amount="150", currency="GBP", reason="x")
    assert request.status == CompensationStatus.PENDING
    with pytest.raises(PermissionDenied) as exc:
        compensation_decide(request=request, actor=manager, approve=True)
    assert str(exc.value) == "You cannot approve or reject your own compensation request; another manager must decide."


def test_an_approver_whose_limit_does_not_cover_it_is_refused(config, customer, agent, specialist, make_ticket):
    # given an agent asking for £300 (above their £50) and a specialist whose limit is £250
    ticket = make_ticket(customer, category="billing")
    request = compensation_request_create(ticket=ticket, actor=agent, amount="300", currency="GBP", reason="x")
    # when the specialist approves
    with pytest.raises(PermissionDenied) as exc:
        compensation_decide(request=request, actor=specialist, approve=True)
    # then the refusal names both amounts
    assert (
        str(exc.value)
        == "Your approval limit is £250.00; this request for £300.00 needs a manager whose limit covers it."
    )


def test_approval_limits_come_from_the_admin_rows(config, customer, agent, specialist, make_ticket):
    # given an admin raising tier 1's GBP limit to £500
    TierApprovalLimit.objects.filter(tier=1, currency="GBP").update(amount=Decimal("500"))
    ticket = make_ticket(customer, category="billing")
    # then £300 from an agent is auto-approved
    request = compensation_request_create(ticket=ticket, actor=agent, amount="300", currency="GBP", reason="x")
    assert request.status == CompensationStatus.AUTO_APPROVED


def test_rejection_needs_a_note(config, customer, agent, manager, make_ticket):
    ticket = make_ticket(customer, category="billing")
    request = compensation_request_create(ticket=ticket, actor=agent, amount="300", currency="GBP", reason="x")
    with pytest.raises(ValidationError) as exc:
        compensation_decide(request=request, actor=manager, approve=False)
    assert messages_of(exc) == {"note": ["Say why you are rejecting it; the requester will read this."]}
    compensation_decide(request=request, actor=manager, approve=False, note="Outside policy")
    request.refresh_from_db()
    assert request.status == CompensationStatus.REJECTED


# --- compliance: restricted from then on -----------------------------------------------------------------------


def test_compliance_restricts_the_ticket_everywhere(
    config, customer, agent, agent2, compliance_officer, manager, make_ticket, escalate
):
    from escalations.selectors import escalations_inbox_for, escalations_review_queue, escalations_visible_to
    from helpdesk.selectors import notifications_visible_to, ticket_get_for_user, tickets_visible_to

    # given a ticket the frontline agents can see and were notified about
    ticket = make_ticket(customer, subject="Erase my data under GDPR", category="data-privacy")
    assert agent2.notifications.filter(ticket=ticket).exists() or agent.notifications.filter(ticket=ticket).exists()
    # when it is escalated as compliance
    escalation = escalate(ticket, agent, "compliance", "functional")
    ticket.refresh_from_db()
    # then it is restricted and with the compliance team
    assert ticket.restricted and ticket.team.slug == "compliance"
    assert escalation.to_team.slug == "compliance"
    for outsider in (agent, agent2):
        # detail: 404
        with pytest.raises(Http404):
            ticket_get_for_user(user=outsider, reference=ticket.reference)
        # lists and searches: absent
        assert not tickets_visible_to(outsider).filter(pk=ticket.pk).exists()
        assert not tickets_visible_to(outsider).filter(subject__icontains="GDPR").exists()
        assert not escalations_visible_to(outsider).filter(ticket=ticket).exists()
        # counts: zero
        assert escalations_visible_to(outsider).count() == 0
        # notifications: none about it, old ones hidden
        assert not notifications_visible_to(outsider).filter(ticket=ticket).exists()
    # and the compliance team, managers (and the customer) still see it
    assert ticket_get_for_user(user=compliance_officer, reference=ticket.reference)
    assert [e.pk for e in escalations_inbox_for(compliance_officer)] == [escalation.pk]
    assert compliance_officer.notifications.filter(kind="escalation_compliance").exists()
    now = timezone.now()
    assert [e.pk for e in escalations_review_queue(user=manager, now=now, q="GDPR")] == [escalation.pk]
    assert ticket_get_for_user(user=customer, reference=ticket.reference)


def test_notifications_about_a_restricted_ticket_are_not_sent_to_outsiders(
    config, customer, agent, compliance_officer, manager, make_ticket, escalate
):
    # given a restricted ticket
    ticket = make_ticket(customer, subject="Legal hold", category="data-privacy")
    escalate(ticket, agent, "compliance", "functional")
    before = Notification.objects.filter(recipient=agent).count()
    # when the customer writes again (the ticket now belongs to the compliance team, not the frontline agent)
    ticket.refresh_from_db()
    ticket_reply(ticket=ticket, author=customer, body="Any news?")
    # then the frontline agent receives nothing about it
    assert Notification.objects.filter(recipient=agent).count() == before


# --- third party ------------------------------------------------------------------------------------------------


def test_third_party_records_the_vendor_and_waits_then_reminds_once(config, customer, agent, make_ticket, escalate):
    # given a ticket escalated to a vendor with a follow-up tomorrow
    ticket = make_ticket(customer, category="outage")
    follow_up = timezone.now() + timedelta(days=1)
    escalate(
        ticket,
        agent,
        "third_party",
        "functional",
        vendor_name="SwiftShip",
        vendor_reference="SS-1",
        vendor_contact="ops@swiftship.example",
        vendor_follow_up_at=follow_up,
    )
    ticket.refresh_from_db()
    case = VendorCase.objects.get(ticket=ticket)
    assert (case.vendor_name, case.external_reference, case.contact) == ("SwiftShip", "SS-1", "ops@swiftship.example")
    assert ticket.status == Status.PENDING_THIRD_PARTY
    # when the reminder sweep runs before and after the date, twice
    assert vendor_followups_due_remind(now=follow_up - timedelta(minutes=1)) == 0
    assert vendor_followups_due_remind(now=follow_up + timedelta(minutes=1)) == 1
    assert vendor_followups_due_remind(now=follow_up + timedelta(minutes=2)) == 0
    # then the agent got exactly one reminder
    assert agent.notifications.filter(kind="vendor_follow_up", channel="in_app").count() == 1


def test_third_party_needs_vendor_details(config, customer, agent, make_ticket, escalate):
    ticket = make_ticket(customer, category="outage")
    with pytest.raises(ValidationError) as exc:
        escalate(ticket, agent, "third_party", "functional", vendor_follow_up_at=timezone.now() - timedelta(days=1))
    assert messages_of(exc) == {
        "vendor_name": ["Name the vendor."],
        "vendor_contact": ["Give the vendor contact (name, email or phone)."],
        "vendor_follow_up_at": ["The follow-up date must be in the future."],
    }


def test_vendor_reminder_task_runs_the_service(config, customer, agent, make_ticket, escalate):
    from escalations.tasks import vendor_followups_remind_task

    assert vendor_followups_remind_task.run() == 0


def test_the_vendor_reminder_is_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["remind-vendor-followups"]
    assert entry["task"] == "escalations.tasks.vendor_followups_remind_task"
    assert entry["schedule"] == 300.0


def test_hierarchical_from_tier_3_is_refused_in_words(config, customer, agent, manager, make_ticket, escalate):
    from helpdesk.models import Ticket

    ticket = make_ticket(customer, category="outage")
    Ticket.objects.filter(pk=ticket.pk).update(tier=3)
    ticket.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        escalate(ticket, manager, "managerial", "hierarchical")
    assert messages_of(exc) == {
        "mode": ["This ticket is already with tier 3: choose functional to move it to a team with the skill."]
    }


@pytest.mark.parametrize("amount", ["Infinity", "-Infinity", "NaN", "sNaN"])
def test_compensation_amount_that_is_not_a_number_is_refused(config, customer, agent, make_ticket, amount):
    # given a billing ticket
    ticket = make_ticket(customer, category="billing")
    # when an agent asks for a compensation of infinity or not-a-number
    with pytest.raises(ValidationError) as exc:
        compensation_request_create(ticket=ticket, actor=agent, amount=amount, currency="GBP", reason="Lost day")
    # then it is the same clear error as any other bad amount, never a TypeError or InvalidOperation (a 500)
    assert messages_of(exc) == {"compensation_amount": ["Enter a positive amount with at most two decimals."]}
