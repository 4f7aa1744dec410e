"""Writes for the knowledge base: articles and their revisions, votes, proposals, deflections and usage.

Every content change goes through ``_content_save``, which renders and sanitises the Markdown, refreshes the plain
text and (on PostgreSQL) the weighted search vector, and writes a revision, so history, display and search never
disagree.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.errors import Conflict, Invalid
from helpdesk.events import event_record
from helpdesk.inbound_email import email_sender_resolve
from helpdesk.models import Category, Channel, EventKind, NotificationChannel, NotificationKind, Ticket, User
from helpdesk.notifications import (
    absolute_url,
    customer_message_render,
    notification_enqueue,
    notification_enqueue_raw,
)
from helpdesk.selectors import ticket_is_visible_to
from helpdesk.services import require_staff, ticket_create
from helpdesk.text import single_line
from knowledge_base.hooks import help_request_ticket_open
from knowledge_base.models import (
    Article,
    ArticleOrigin,
    ArticleProposal,
    ArticleRevision,
    ArticleStatus,
    ArticleUse,
    ArticleVisibility,
    ArticleVote,
    Deflection,
    HelpRequest,
    ProposalKind,
    ProposalStatus,
)
from knowledge_base.rendering import html_to_text, markdown_to_html
from knowledge_base.search import search_vector_refresh
from knowledge_base.selectors import user_can_edit_article, user_is_kb_editor


class ArticleConflict(Conflict):
    """Someone saved a newer revision of the article since the editor loaded it. The API answers 412 (its
    ``If-Match`` precondition failed) with the current revision; the edit page shows the message on the form."""

    status = 412

    def __init__(self, *, current: int, expected: int):
        super().__init__(
            _(
                "Someone saved revision %(current)s while you were editing revision %(expected)s. "
                "Review their changes and save again."
            )
            % {"current": current, "expected": expected},
            extra={"current_version": current},
        )
        self.current = current


# A customer who opens a suggested article and submits a ticket within this window was not deflected.
DEFLECTION_WINDOW = timedelta(hours=24)


def normalise_tags(tags: str | list[str]) -> str:
    """Lower-cased, de-duplicated, ", "-joined (the portable search matches tags at word starts)."""
    items = tags.split(",") if isinstance(tags, str) else tags
    seen: list[str] = []
    for item in items:
        tag = " ".join(item.strip().lower().split())[:40]
        if tag and tag not in seen:
            seen.append(tag)
    return ", ".join(seen)[:250]


def _validate_content(*, title: str, body: str) -> None:
    errors = {}
    if not title.strip():
        errors["title"] = _("An article needs a title.")
    if not body.strip():
        errors["body"] = _("An article needs a body.")
    if errors:
        raise ValidationError(errors)


def _content_save(*, article: Article, editor: User | None, note: str, now: datetime) -> ArticleRevision:
    article.body_html = markdown_to_html(article.body)
    article.body_text = html_to_text(article.body_html)
    article.updated_at = now
    article.save()
    search_vector_refresh(Article.objects.filter(pk=article.pk))
    number = (article.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    return ArticleRevision.objects.create(
        article=article,
        number=number,
        title=article.title,
        body=article.body,
        tags=article.tags,
        category=article.category,
        visibility=article.visibility,
        editor=editor,
        note=note[:250],
        created_at=now,
    )


@transaction.atomic
def article_create(
    *,
    actor: User,
    title: str,
    body: str,
    category: Category | None = None,
    visibility: str = ArticleVisibility.INTERNAL,
    tags: str | list[str] = "",
    origin: str = ArticleOrigin.MANUAL,
    source_ticket: Ticket | None = None,
    source_escalation=None,
    note: str = "Created",
) -> Article:
    """Staff write a new article, always as a draft owned by them (revision 1). Atomic."""
    require_staff(actor, to="write articles")
    _validate_content(title=title, body=body)
    now = timezone.now()
    article = Article(
        title=title.strip()[:200],
        body=body,
        category=category,
        visibility=visibility,
        tags=normalise_tags(tags),
        owner=actor,
        origin=origin,
        source_ticket=source_ticket,
        source_escalation=source_escalation,
        created_at=now,
        status=ArticleStatus.DRAFT,
    )
    _content_save(article=article, editor=actor, note=note, now=now)
    return article


@transaction.atomic
def article_update(
    *,
    article: Article,
    actor: User,
    title: str,
    body: str,
    category: Category | None,
    visibility: str,
    tags: str | list[str],
    note: str = "",
    expected_revision: int | None = None,
) -> Article:
    """The owner or an editor changes an article's content; a new revision when anything changed. Atomic; a stale
    ``expected_revision`` (someone saved in between) is refused rather than silently overwritten."""
    article = Article.objects.select_for_update().get(pk=article.pk)
    if not user_can_edit_article(user=actor, article=article):
        raise PermissionDenied(_("Only the article's owner or an editor can change it."))
    current = article.revisions.aggregate(n=Max("number"))["n"] or 0
    if expected_revision is not None and expected_revision != current:
        raise ArticleConflict(current=current, expected=expected_revision)
    _validate_content(title=title, body=body)
    new = {
        "title": title.strip()[:200],
        "body": body,
        "category": category,
        "visibility": visibility,
        "tags": normalise_tags(tags),
    }
    if all(getattr(article, field) == value for field, value in new.items()):
        return article
    for field, value in new.items():
        setattr(article, field, value)
    _content_save(article=article, editor=actor, note=note or "Edited", now=timezone.now())
    return article


def articles_reindex(*, batch_size: int = 500) -> int:
    """Re-render every article's HTML and plain text and refresh the search vectors (after an allowlist change or
    a restore). Idempotent; each batch is its own transaction, so a long run never holds one big lock."""
    done = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(Article.objects.filter(pk__gt=last_pk).order_by("pk")[:batch_size])
            if not batch:
                return done
            for article in batch:
                article.body_html = markdown_to_html(article.body)
                article.body_text = html_to_text(article.body_html)
            Article.objects.bulk_update(batch, ["body_html", "body_text"])
            search_vector_refresh(Article.objects.filter(pk__in=[a.pk for a in batch]))
        done += len(batch)
        last_pk = batch[-1].pk


# Who may move an article between statuses: the owner may submit a draft for review (and take it back);
# publishing, archiving and restoring are editors' decisions.
_OWNER_TRANSITIONS = {
    (ArticleStatus.DRAFT, ArticleStatus.IN_REVIEW),
    (ArticleStatus.IN_REVIEW, ArticleStatus.DRAFT),
}
_EDITOR_TRANSITIONS = {
    (ArticleStatus.DRAFT, ArticleStatus.IN_REVIEW),
    (ArticleStatus.IN_REVIEW, ArticleStatus.DRAFT),
    (ArticleStatus.DRAFT, ArticleStatus.PUBLISHED),
    (ArticleStatus.IN_REVIEW, ArticleStatus.PUBLISHED),
    (ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED),
    (ArticleStatus.PUBLISHED, ArticleStatus.DRAFT),
    (ArticleStatus.ARCHIVED, ArticleStatus.DRAFT),
    (ArticleStatus.ARCHIVED, ArticleStatus.PUBLISHED),
}


@transaction.atomic
def article_set_status(*, article: Article, actor: User, status: str) -> Article:
    """Move an article through draft → in review → published → archived. Atomic; setting the current status is a
    no-op (idempotent). Publishing stamps ``published_at`` and counts as a review."""
    article = Article.objects.select_for_update().get(pk=article.pk)
    if article.status == status:
        return article
    move = (article.status, status)
    if user_is_kb_editor(actor):
        allowed = move in _EDITOR_TRANSITIONS
    elif user_can_edit_article(user=actor, article=article):
        if move not in _OWNER_TRANSITIONS and move in _EDITOR_TRANSITIONS:
            raise PermissionDenied(_("Only an editor (manager or admin) can publish or archive an article."))
        allowed = move in _OWNER_TRANSITIONS
    else:
        raise PermissionDenied(_("Only the article's owner or an editor can change it."))
    if not allowed:
        raise ValidationError(
            _("An article cannot go from %(old)s to %(new)s.")
            % {"old": ArticleStatus(article.status).label, "new": ArticleStatus(status).label}
        )
    now = timezone.now()
    article.status = status
    article.updated_at = now
    if status == ArticleStatus.PUBLISHED:
        article.published_at = now
        article.last_reviewed_at = now
    article.save(update_fields=["status", "updated_at", "published_at", "last_reviewed_at"])
    return article


@transaction.atomic
def article_mark_reviewed(*, article: Article, actor: User) -> Article:
    """The owner or an editor confirms the article is still right: stamps ``last_reviewed_at``. Atomic."""
    if not user_can_edit_article(user=actor, article=article):
        raise PermissionDenied("Only the article's owner or an editor can review it.")
    article.last_reviewed_at = timezone.now()
    article.save(update_fields=["last_reviewed_at"])
    return article


@transaction.atomic
def article_vote(*, article: Article, helpful: bool, user: User | None = None, visitor: str = "") -> ArticleVote:
    """Each reader has one helpful/not-helpful mark per article (a database constraint); voting again replaces it.
    A reader is a signed-in ``user`` or, in the public help centre, an anonymous ``visitor`` token (then the article
    must be customer-visible). Atomic and idempotent; the article's counters are recounted from the votes, never
    incremented blindly."""
    if user is not None and user.is_authenticated:
        who: dict = {"user": user}
    elif visitor:
        if not Article.objects.customer_visible().filter(pk=article.pk).exists():
            raise PermissionDenied(_("Only public articles can be rated without signing in."))
        who = {"visitor": visitor[:64]}
    else:
        raise PermissionDenied(_("Sign in to rate articles."))
    if article.status != ArticleStatus.PUBLISHED:
        raise ValidationError(_("Only published articles can be rated."))
    now = timezone.now()
    try:
        with transaction.atomic():
            vote, created = ArticleVote.objects.get_or_create(
                article=article, **who, defaults={"helpful": helpful, "created_at": now, "updated_at": now}
            )
    except IntegrityError:  # a concurrent first vote by the same reader won the race
        vote, created = ArticleVote.objects.get(article=article, **who), False
    if not created and vote.helpful != helpful:
        vote.helpful = helpful
        vote.updated_at = now
        vote.save(update_fields=["helpful", "updated_at"])
    counts = ArticleVote.objects.filter(article=article).aggregate(
        yes=Count("pk", filter=Q(helpful=True)), no=Count("pk", filter=Q(helpful=False))
    )
    Article.objects.filter(pk=article.pk).update(helpful_count=counts["yes"], unhelpful_count=counts["no"])
    article.helpful_count, article.unhelpful_count = counts["yes"], counts["no"]
    return vote


# --- proposals ---------------------------------------------------------------------------------------------------


@transaction.atomic
def proposal_create(
    *, article: Article, author: User, kind: str, proposed_title: str = "", proposed_body: str = "", comment: str = ""
) -> ArticleProposal:
    """Staff suggest an edit or leave a comment; it waits in the owner's review queue and the owner is notified.
    Atomic."""
    require_staff(author, to="propose improvements")
    if kind == ProposalKind.EDIT:
        proposed_title = proposed_title.strip() or article.title
        if not proposed_body.strip():
            raise ValidationError({"proposed_body": _("A suggested edit needs the new text.")})
        if proposed_title == article.title and proposed_body == article.body:
            raise ValidationError({"proposed_body": _("The suggested edit changes nothing.")})
    elif kind == ProposalKind.COMMENT:
        if not comment.strip():
            raise ValidationError({"comment": _("Write the comment.")})
    else:
        raise ValidationError({"kind": _("Choose a suggested edit or a comment.")})
    base = article.revisions.aggregate(n=Max("number"))["n"] or 0
    proposal = ArticleProposal.objects.create(
        article=article,
        author=author,
        kind=kind,
        proposed_title=proposed_title if kind == ProposalKind.EDIT else "",
        proposed_body=proposed_body if kind == ProposalKind.EDIT else "",
        comment=comment.strip(),
        base_revision=base,
        created_at=timezone.now(),
    )
    if article.owner and article.owner_id != author.pk:
        notification_enqueue(
            kind=NotificationKind.KB_PROPOSAL,
            subject=f"{author.display_name} suggested an improvement to “{article.title}”",
            body=comment.strip()[:500],
            recipients=[article.owner],
            url=reverse("kb_review_queue"),
            email=False,
        )
    return proposal


def _check_reviewer(*, proposal: ArticleProposal, actor: User) -> ArticleProposal:
    proposal = ArticleProposal.objects.select_for_update().select_related("article").get(pk=proposal.pk)
    if not user_can_edit_article(user=actor, article=proposal.article):
        raise PermissionDenied(_("Only the article's owner or an editor can review proposals."))
    if proposal.status != ProposalStatus.PENDING:
        raise ValidationError(_("This proposal has already been decided."))
    return proposal


@transaction.atomic
def proposal_accept(*, proposal: ArticleProposal, actor: User) -> ArticleProposal:
    """The owner (or an editor) accepts: a suggested edit becomes a new revision of the article; a comment is
    marked as taken on board. Atomic; a decided proposal cannot be decided again."""
    proposal = _check_reviewer(proposal=proposal, actor=actor)
    article = proposal.article
    if proposal.kind == ProposalKind.EDIT:
        author = proposal.author.display_name if proposal.author else "a former colleague"
        article_update(
            article=article,
            actor=actor,
            title=proposal.proposed_title or article.title,
            body=proposal.proposed_body,
            category=article.category,
            visibility=article.visibility,
            tags=article.tags,
            note=f"Accepted proposal #{proposal.pk} by {author}",
        )
        proposal.resulting_revision = article.revisions.order_by("-number").first()
    proposal.status = ProposalStatus.ACCEPTED
    proposal.decided_by = actor
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["status", "decided_by", "decided_at", "resulting_revision"])
    _notify_author(proposal=proposal, verdict="accepted")
    return proposal


@transaction.atomic
def proposal_decline(*, proposal: ArticleProposal, actor: User, reason: str) -> ArticleProposal:
    """The owner (or an editor) declines, always with a reason the author can read. Atomic."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the proposal is declined.")})
    proposal = _check_reviewer(proposal=proposal, actor=actor)
    proposal.status = ProposalStatus.DECLINED
    proposal.decided_by = actor
    proposal.decided_at = timezone.now()
    proposal.decline_reason = reason.strip()
    proposal.save(update_fields=["status", "decided_by", "decided_at", "decline_reason"])
    _notify_author(proposal=proposal, verdict="declined")
    return proposal


def _notify_author(*, proposal: ArticleProposal, verdict: str) -> None:
    if proposal.author and proposal.author_id != proposal.decided_by_id:
        notification_enqueue(
            kind=NotificationKind.KB_PROPOSAL_DECIDED,
            subject=f"Your proposal on “{proposal.article.title}” was {verdict}",
            body=proposal.decline_reason,
            recipients=[proposal.author],
            url=reverse("kb_article_detail", args=[proposal.article_id]),
            email=False,
        )


# --- deflections and use -----------------------------------------------------------------------------------------


@transaction.atomic
def deflection_record_open(*, article: Article, user: User | None, session_key: str, query: str = "") -> Deflection:
    """A customer opened an article from a suggestion: a deflection candidate for this session and article.
    Atomic and idempotent (one row per session and article)."""
    try:
        with transaction.atomic():
            deflection, _created = Deflection.objects.get_or_create(
                session_key=session_key,
                article=article,
                defaults={"user": user, "query": query[:500], "opened_at": timezone.now()},
            )
    except IntegrityError:
        deflection = Deflection.objects.get(session_key=session_key, article=article)
    return deflection


@transaction.atomic
def deflection_confirm(*, article: Article, user: User | None, session_key: str) -> Deflection:
    """The customer pressed "this solved my problem". Atomic, idempotent; records the open if it was missing."""
    deflection = deflection_record_open(article=article, user=user, session_key=session_key)
    if deflection.confirmed_at is None:
        deflection.confirmed_at = timezone.now()
        deflection.save(update_fields=["confirmed_at"])
    return deflection


def visitor_session_key(visitor: str) -> str:
    """The ``Deflection.session_key`` of an anonymous help-centre visitor (never clashes with a Django session)."""
    return f"visitor:{visitor}"[:64]


@transaction.atomic
def deflections_mark_submitted(
    *, ticket: Ticket, now: datetime, customer: User | None = None, visitor: str = ""
) -> int:
    """Someone submitted a ticket: their suggestions opened in the ``DEFLECTION_WINDOW`` before ``now`` did not
    deflect it. "Their" is the signed-in ``customer``'s opens, and/or the opens of an anonymous help-centre
    ``visitor`` token. Atomic; re-running changes nothing (only rows without a ticket are touched)."""
    who = Q()
    if customer is not None:
        who |= Q(user=customer)
    if visitor:
        who |= Q(session_key=visitor_session_key(visitor))
    if not who:
        return 0
    return Deflection.objects.filter(
        who, ticket__isnull=True, opened_at__gte=now - DEFLECTION_WINDOW, opened_at__lte=now
    ).update(ticket=ticket)


@transaction.atomic
def article_use_record(*, article: Article, ticket: Ticket, actor: User) -> ArticleUse:
    """An agent marks a ticket "resolved with this article": one row per ticket and article, and an internal
    timeline event. Atomic and idempotent."""
    if not actor.is_staff_member or not ticket_is_visible_to(user=actor, ticket=ticket):
        raise PermissionDenied("Only staff working on this ticket can do that.")
    use, created = ArticleUse.objects.get_or_create(
        article=article, ticket=ticket, defaults={"user": actor, "created_at": timezone.now()}
    )
    if created:
        event_record(
            ticket=ticket,
            kind=EventKind.KB,
            actor=actor,
            is_public=False,
            body=f"Resolved with the article “{article.title}”.",
            data={"action": "resolved_with", "article_id": article.pk},
        )
    return use


# --- articles born from escalations and RCAs ---------------------------------------------------------------------


@transaction.atomic
def article_draft_from_rca(*, ticket: Ticket, title: str, body: str, category: Category | None, actor: User) -> Article:
    """A root-cause analysis found a knowledge gap: draft an internal article for it (called by ``feedback``).
    Atomic and idempotent: one RCA draft per ticket."""
    existing = Article.objects.filter(source_ticket=ticket, origin=ArticleOrigin.RCA).first()
    if existing is not None:
        return existing
    article = article_create(
        actor=actor,
        title=title or ticket.subject,
        body=body or f"_Knowledge gap found by the root-cause analysis of {ticket.reference}._",
        category=category if category is not None else ticket.category,
        visibility=ArticleVisibility.INTERNAL,
        origin=ArticleOrigin.RCA,
        source_ticket=ticket,
        note=f"Drafted from the root-cause analysis of {ticket.reference}",
    )
    event_record(
        ticket=ticket,
        kind=EventKind.KB,
        actor=actor,
        is_public=False,
        body=f"Draft article “{article.title}” created for the knowledge gap.",
        data={"action": "draft_from_rca", "article_id": article.pk},
    )
    return article


# --- the public help centre's contact form -----------------------------------------------------------------------

HELP_REQUEST_TOKEN_SALT = "knowledge_base.help_request.confirm"  # noqa: S105  # a signing namespace, not a secret


class HelpLinkError(Invalid):
    """A confirmation link that cannot be used; ``code`` says why (``expired`` or ``invalid``)."""


def help_request_token(request: HelpRequest) -> str:
    return signing.dumps({"r": request.pk, "n": request.nonce}, salt=HELP_REQUEST_TOKEN_SALT, compress=False)


def help_requests_purge(*, now: datetime) -> int:
    """Forget unconfirmed contact requests whose link has expired (they hold a stranger's email and text).
    Idempotent."""
    cutoff = now - timedelta(seconds=settings.HELP_CENTRE_CONFIRM_MAX_AGE)
    deleted, _kinds = HelpRequest.objects.filter(ticket__isnull=True, created_at__lt=cutoff).delete()
    return deleted


@transaction.atomic
def help_request_submit(
    *,
    email: str,
    name: str,
    subject: str,
    description: str,
    category: Category | None = None,
    visitor: str = "",
) -> HelpRequest:
    """A visitor sends the contact form: store the request and email a signed, expiring confirmation link to the
    address through the outbox. No ticket and no account yet (that waits for the confirmation, to stop spam).
    Atomic."""
    email = email.strip().lower()
    subject = single_line(subject)[:200]
    description = description.strip()
    errors = {}
    if not email:
        errors["email"] = _("Give the email address where we should answer.")
    if not subject:
        errors["subject"] = _("Please give the request a subject.")
    if not description:
        errors["description"] = _("Please describe the problem.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    help_requests_purge(now=now)
    request = HelpRequest.objects.create(
        email=email,
        name=single_line(name)[:150],
        subject=subject,
        description=description[:20000],
        category=category,
        nonce=secrets.token_hex(16),
        visitor=visitor[:64],
        created_at=now,
    )
    hours = settings.HELP_CENTRE_CONFIRM_MAX_AGE // 3600
    expires = now + timedelta(seconds=settings.HELP_CENTRE_CONFIRM_MAX_AGE)
    notification_enqueue_raw(
        channel=NotificationChannel.EMAIL,
        kind=NotificationKind.HELP_REQUEST_CONFIRM,
        subject="Please confirm your request",
        body=customer_message_render(
            "help_request_confirm.txt",
            {
                "name": request.name,
                "subject": request.subject,
                "confirm_url": absolute_url(reverse("help_contact_confirm", args=[help_request_token(request)])),
                "hours": hours,
                "expires_utc": expires.astimezone(UTC).strftime("%d %b %Y %H:%M UTC"),
            },
        ),
        to_address=email,
    )
    return request


def help_request_for_token(token: str, *, now: datetime | None = None) -> HelpRequest:
    """The request a confirmation link names. Raises ``HelpLinkError`` (code ``expired`` or ``invalid``) for a link
    older than ``HELP_CENTRE_CONFIRM_MAX_AGE``, tampered with, or naming a request that no longer exists."""
    try:
        payload = signing.loads(token, salt=HELP_REQUEST_TOKEN_SALT, max_age=settings.HELP_CENTRE_CONFIRM_MAX_AGE)
        pk, nonce = int(payload["r"]), str(payload["n"])
    except signing.SignatureExpired as exc:
        raise HelpLinkError("This confirmation link has expired.", code="expired") from exc
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise HelpLinkError("This confirmation link is not valid.", code="invalid") from exc
    request = HelpRequest.objects.filter(pk=pk, nonce=nonce).first()
    if request is None:
        raise HelpLinkError("This confirmation link is not valid.", code="invalid")
    return request


@transaction.atomic
def help_request_confirm(*, token: str) -> tuple[Ticket, bool]:
    """The visitor followed their confirmation link: the email is theirs, so open the ticket. The sender becomes a
    customer the way inbound email makes one (``email_sender_resolve``: a known address threads into that account).
    Atomic and idempotent: the request row is locked and a second click returns the same ticket. Returns the
    ticket and whether this call opened it."""
    found = help_request_for_token(token)
    request = HelpRequest.objects.select_for_update().get(pk=found.pk)
    if request.ticket_id is not None:
        return Ticket.objects.get(pk=request.ticket_id), False
    customer, _reason = email_sender_resolve(request.email, request.name)
    if customer is None:
        raise Invalid(
            "We could not open a request for this address. Please write to us by email instead.",
            code="unknown_sender",
        )
    if not customer.is_customer:
        raise Invalid("This address belongs to a staff account: sign in to open a ticket.", code="staff_sender")
    # A live chat started by a guest from the help centre claims its own request (hooks; the chat's ticket).
    opened = help_request_ticket_open(help_request_id=request.pk, customer=customer)
    ticket = (
        opened
        if isinstance(opened, Ticket)
        else ticket_create(
            customer=customer,
            subject=request.subject,
            description=request.description,
            category=request.category,
            channel=Channel.WEB,
        )
    )
    now = timezone.now()
    request.ticket = ticket
    request.confirmed_at = now
    request.save(update_fields=["ticket", "confirmed_at"])
    if request.visitor:
        # Measured from when they sent the form: that is when they chose to ask rather than read.
        deflections_mark_submitted(ticket=ticket, visitor=request.visitor, now=request.created_at)
    return ticket, True
