"""Paging the person on call, in stages: an emergency hop, or a hop nobody accepted at the top of its path, pages
the on-call person of the receiving team first (``oncall_pages_start``, called by the opener and by
``paging.escalation_hops_page``); if the hop is still not accepted ``ESCALATION_ONCALL_BACKUP_MINUTES`` later the
sweep pages the backup, and as long again after that everyone who was alerted before the rota existed
(``escalation_oncall_pages_advance``). Accepting the hop (or anything that moves it on) stops the stages. A team
without a rota is paged as before. Each stage is one ``OnCallPage`` row, unique per escalation, cause and stage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from escalations import conf
from escalations.bulk import _insert_many, _Notice, _notify_bulk, _team_people
from escalations.models import Escalation, EscalationStatus, OnCallPage, PageCause, PageStage
from escalations.rota import OnCall
from escalations.selectors import managers_on_call, oncall_now
from helpdesk.models import OPEN_STATUSES, NotificationKind, User


def _wait() -> timedelta:
    return timedelta(minutes=int(conf.get("ESCALATION_ONCALL_BACKUP_MINUTES")))


def oncall_pages_start(*, escalations: Sequence[Escalation], cause: str, now: datetime) -> dict[int, User]:
    """The first stage for hops whose receiving team has someone on call: one ``OnCallPage`` row each (refused by
    the unique constraint when that stage was written before). Returns ``{escalation pk: the person to page}`` for
    the rows written now; the caller pages that person instead of everyone. Runs in the caller's transaction, which
    holds the hops' locks (or has just opened them)."""
    team_ids = {esc.to_team_id for esc in escalations if esc.to_team_id is not None}
    oncall = oncall_now(team_ids=team_ids, now=now) if team_ids else {}
    rows = [
        {
            "escalation_id": esc.pk,
            "cause": cause,
            "stage": PageStage.PRIMARY,
            "recipient_id": oncall[esc.to_team_id].primary,
            "paged_at": now,
            "next_due_at": now + _wait(),
        }
        for esc in escalations
        if esc.to_team_id in oncall and oncall[esc.to_team_id].primary is not None
    ]
    if not rows:
        return {}
    _insert_many(OnCallPage, rows, ignore_conflicts=True)
    written = dict(
        OnCallPage.objects.filter(
            escalation_id__in=[row["escalation_id"] for row in rows],
            cause=cause,
            stage=PageStage.PRIMARY,
            paged_at=now,
        ).values_list("escalation_id", "recipient_id")
    )
    people = User.objects.in_bulk(set(written.values()))
    return {esc_id: people[user_id] for esc_id, user_id in written.items() if user_id in people}


def escalation_oncall_pages_advance(*, now: datetime, batch_size: int = 500) -> int:
    """The sweep's part: every stage whose wait is over pages the next one (the backup, then everyone) while its
    hop is still open and unaccepted, and stops otherwise. Batched, locked with skip_locked, each stage claimed by a
    conditional UPDATE and written under the unique constraint, so a rerun pages nobody twice. Returns how many
    stages it paged."""
    paged = 0
    # A plain indexed probe first: an idle sweep takes no lock (on SQLite a write transaction would).
    due = OnCallPage.objects.filter(next_due_at__lte=now).exists()
    while due:
        with transaction.atomic():
            pages = list(
                # The hop is locked too, so an accept running now finishes first (and stops the stage) or waits.
                OnCallPage.objects.select_for_update(skip_locked=True, of=("self", "escalation"))
                .filter(next_due_at__lte=now)
                .select_related("escalation__ticket", "escalation__to_team")
                .order_by("next_due_at", "pk")[:batch_size]
            )
            if pages:
                paged += _advance(pages, now=now)
        if len(pages) < batch_size:
            break
    return paged


def _advance(pages: list[OnCallPage], *, now: datetime) -> int:
    """One locked batch: clear the due stages, then page the next stage of each hop still open."""
    OnCallPage.objects.filter(pk__in=[page.pk for page in pages], next_due_at__isnull=False).update(next_due_at=None)
    live = [
        page
        for page in pages
        if page.escalation.status == EscalationStatus.OPEN and page.escalation.ticket.status in OPEN_STATUSES
    ]
    if not live:
        return 0
    escalations = {page.escalation_id: page.escalation for page in live}
    already: dict[tuple[int, str], set[int]] = {}
    for esc_id, cause, user_id in OnCallPage.objects.filter(escalation_id__in=escalations).values_list(
        "escalation_id", "cause", "recipient_id"
    ):
        if user_id is not None:
            already.setdefault((esc_id, cause), set()).add(user_id)
    team_ids = {esc.to_team_id for esc in escalations.values() if esc.to_team_id is not None}
    oncall = oncall_now(team_ids=team_ids, now=now)
    members = _team_people(team_ids)
    managers = managers_on_call()
    backups = {page.pk: _backup(oncall.get(page.escalation.to_team_id or 0), already, page) for page in live}
    people = User.objects.in_bulk({user_id for user_id in backups.values() if user_id is not None})
    rows, plans = [], []
    for page in live:
        esc = page.escalation
        backup = people.get(backups[page.pk] or 0)
        recipients: list[User]
        if page.stage == PageStage.PRIMARY and backup is not None:
            stage, recipients, next_due = PageStage.BACKUP, [backup], now + _wait()
        elif page.stage in (PageStage.PRIMARY, PageStage.BACKUP):
            everyone = list(managers)
            if page.cause == PageCause.EMERGENCY:
                everyone += [user for user, _ in members.get(esc.to_team_id or 0, [])]
            paged_before = already.get((esc.pk, page.cause), set())
            stage, next_due = PageStage.EVERYONE, None
            recipients = list({user.pk: user for user in everyone if user.pk not in paged_before}.values())
        else:
            continue
        rows.append(
            {
                "escalation_id": esc.pk,
                "cause": page.cause,
                "stage": stage,
                "recipient_id": backup.pk if stage == PageStage.BACKUP and backup is not None else None,
                "paged_at": now,
                "next_due_at": next_due,
            }
        )
        plans.append((page, stage, recipients))
    _insert_many(OnCallPage, rows, ignore_conflicts=True)
    written = set(
        OnCallPage.objects.filter(escalation_id__in=escalations, paged_at=now).values_list(
            "escalation_id", "cause", "stage"
        )
    )
    notices = [
        _stage_notice(page, stage=stage, recipients=recipients)
        for page, stage, recipients in plans
        if (page.escalation_id, page.cause, stage) in written
    ]
    _notify_bulk(notices, now)
    return len(notices)


def _backup(who: OnCall | None, already: dict[tuple[int, str], set[int]], page: OnCallPage) -> int | None:
    """The rota's backup as it stands now, or its person on call when a hand-over came between the stages; never
    someone this escalation already paged for the same cause."""
    paged_before = already.get((page.escalation_id, page.cause), set())
    candidates = (who.backup, who.primary) if who is not None else ()
    return next((user for user in candidates if user is not None and user not in paged_before), None)


def _stage_notice(
    page: OnCallPage,
    *,
    stage: str,
    recipients: list,
) -> _Notice:
    # The opener starts the first stage through this module, so its helpers are imported when used.
    from escalations.hops.opener import _fmt, hop_notice_kind

    esc, ticket = page.escalation, page.escalation.ticket
    since = _fmt(esc.created_at, settings.TIME_ZONE)
    who = "you are the on-call backup" if stage == PageStage.BACKUP else "the on-call pages went unanswered"
    if page.cause == PageCause.EMERGENCY:
        kind = hop_notice_kind(esc)
        subject = f"[{ticket.reference}] Emergency not accepted yet ({who}): {ticket.subject}"
    else:
        kind = NotificationKind.ESCALATION_UNACKNOWLEDGED
        subject = f"Nobody has accepted the escalation of {ticket.reference} yet ({who})"
    return _Notice(
        ticket=ticket,
        recipients=recipients,
        kind=kind,
        subject=subject,
        body=f"It has waited since {since}. Problem: {esc.dossier_problem}\nReason: {esc.reason}",
        not_before=None,
        data={"escalation_id": esc.pk, "oncall_stage": stage},
        # The last stage is the alert everyone had before the rota: in-app and email, as then.
        page=stage != PageStage.EVERYONE,
    )
