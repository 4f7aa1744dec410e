"""Third-party escalations: the vendor case a third-party escalation opens (the ticket waits on the vendor and the
customer is told when we will chase them), and the beat reminder when a case's follow-up date has passed."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from escalations import events
from escalations.models import Escalation, VendorCase
from escalations.services.common import _customer_when, when_words
from helpdesk import services as core
from helpdesk.directory import RecordConflict, record_etag
from helpdesk.errors import Conflict, NotFound
from helpdesk.locale import in_language_of
from helpdesk.models import OPEN_STATUSES, EventKind, NotificationKind, Status, User
from helpdesk.notifications import notification_enqueue
from helpdesk.selectors import ticket_is_visible_to
from helpdesk.services import require_staff

# What a client may change on a vendor case (its ETag covers these and whether it is closed).
VENDOR_CASE_FIELDS = ("external_reference", "contact", "follow_up_at", "closed_at")


def _vendor_errors(*, name: str, contact: str, follow_up_at: datetime | None, now: datetime) -> dict[str, str]:
    errors = {}
    if not name.strip():
        errors["vendor_name"] = gettext("Name the vendor.")
    if not contact.strip():
        errors["vendor_contact"] = gettext("Give the vendor contact (name, email or phone).")
    if follow_up_at is None:
        errors["vendor_follow_up_at"] = gettext("Set the date to chase the vendor.")
    elif follow_up_at <= now:
        errors["vendor_follow_up_at"] = gettext("The follow-up date must be in the future.")
    return errors


def _vendor_case_open(
    *,
    escalation: Escalation,
    actor: User,
    vendor_name: str,
    external_reference: str,
    contact: str,
    follow_up_at: datetime,
    now: datetime,
) -> VendorCase:
    ticket = escalation.ticket
    case = VendorCase.objects.create(
        ticket=ticket,
        escalation=escalation,
        vendor_name=vendor_name,
        external_reference=external_reference,
        contact=contact,
        follow_up_at=follow_up_at,
        opened_by=actor,
        created_at=now,
    )
    events.vendor_case_event(
        ticket=ticket,
        actor=actor,
        case=case,
        body=f"Case opened with {vendor_name} ({external_reference or 'no reference yet'}), contact {contact}; "
        f"follow up on {when_words(follow_up_at)}.",
    )
    if ticket.status != Status.PENDING_THIRD_PARTY and ticket.can_transition_to(Status.PENDING_THIRD_PARTY):
        core.ticket_change_status(ticket=ticket, actor=actor, status=Status.PENDING_THIRD_PARTY)
    with in_language_of(ticket.customer):
        customer_words = gettext(
            "We have raised this with our partner %(vendor)s, who need to act on it. We will chase them by "
            "%(when)s and keep you updated here."
        ) % {"vendor": vendor_name, "when": _customer_when(follow_up_at, ticket)}
    events.escalation_customer_told_event(
        ticket=ticket, escalation=escalation, actor=actor, kind=EventKind.THIRD_PARTY, body=customer_words
    )
    return case


@transaction.atomic
def vendor_followups_due_remind(*, now: datetime) -> int:
    """Beat: remind whoever opened each vendor case (and the ticket's owner) when its follow-up date has passed.
    Each case is reminded once per follow-up date (conditional UPDATE), so re-running finds nothing. Idempotent."""
    from escalations.selectors import vendor_cases_followup_due

    reminded = 0
    for case in vendor_cases_followup_due(now=now).select_related("ticket__assignee", "opened_by")[:500]:
        if not VendorCase.objects.filter(pk=case.pk, reminded_at__isnull=True).update(reminded_at=now):
            continue
        ticket = case.ticket
        if ticket.status not in OPEN_STATUSES:
            continue
        recipients = [u for u in (case.opened_by, ticket.assignee) if u is not None]
        if not recipients and ticket.team is not None:
            recipients = list(ticket.team.members.filter(is_active=True))
        notification_enqueue(
            kind=NotificationKind.VENDOR_FOLLOW_UP,
            subject=f"Chase {case.vendor_name} about {ticket.reference}",
            body=f"The follow-up date for {case.vendor_name} ({case.external_reference or 'no reference'}) has passed. "
            f"Contact: {case.contact}.",
            recipients=recipients,
            ticket=ticket,
            url=core.ticket_url(ticket),
        )
        events.vendor_case_event(
            ticket=ticket, actor=None, case=case, body=f"Follow-up with {case.vendor_name} is due: reminder sent."
        )
        reminded += 1
    return reminded


def vendor_case_etag(case: VendorCase) -> str:
    return record_etag(case, VENDOR_CASE_FIELDS)


@transaction.atomic
def vendor_case_update(
    *,
    actor: User,
    case: VendorCase,
    expected_etag: str | None = None,
    external_reference: str | None = None,
    contact: str | None = None,
    follow_up_at: datetime | None = None,
    close: bool = False,
    now: datetime | None = None,
) -> VendorCase:
    """Staff who may see the ticket record the vendor's reference, a new contact, the next date to chase them (the
    reminder fires again for it) or that the case is closed; each change is one internal timeline event. A closed
    case takes no more changes (409); with ``expected_etag`` a case changed since is refused (412). Atomic."""
    require_staff(actor, to="change vendor cases")
    now = now or timezone.now()
    current = VendorCase.objects.select_for_update().select_related("ticket").get(pk=case.pk)
    if not ticket_is_visible_to(user=actor, ticket=current.ticket):
        raise NotFound("No such vendor case.")
    if expected_etag is not None and vendor_case_etag(current) != expected_etag:
        raise RecordConflict(what="vendor case", current=vendor_case_etag(current))
    if current.closed_at is not None:
        raise Conflict(
            gettext("The case with %(vendor)s is closed: it takes no more changes.") % {"vendor": current.vendor_name}
        )
    errors = {}
    if contact is not None and not contact.strip():
        errors["contact"] = gettext("Give the vendor contact (name, email or phone).")
    if follow_up_at is not None and follow_up_at <= now:
        errors["follow_up_at"] = gettext("The follow-up date must be in the future.")
    if errors:
        raise ValidationError(errors)
    said = []
    fields = []
    if external_reference is not None and external_reference.strip() != current.external_reference:
        current.external_reference = external_reference.strip()
        said.append(f"reference {current.external_reference or 'cleared'}")
        fields.append("external_reference")
    if contact is not None and contact.strip() != current.contact:
        current.contact = contact.strip()
        said.append(f"contact {current.contact}")
        fields.append("contact")
    if follow_up_at is not None and follow_up_at != current.follow_up_at:
        current.follow_up_at, current.reminded_at = follow_up_at, None
        said.append(f"follow up on {when_words(follow_up_at)}")
        fields += ["follow_up_at", "reminded_at"]
    if close:
        current.closed_at = now
        said.append("closed")
        fields.append("closed_at")
    if fields:
        current.save(update_fields=fields)
        events.vendor_case_event(
            ticket=current.ticket,
            actor=actor,
            case=current,
            body=f"Case with {current.vendor_name} updated: " + "; ".join(said) + ".",
        )
    return current
