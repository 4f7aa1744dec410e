"""The escalation inbox and review queue at any size: keyset pages (callers and emergencies still pinned on top) and
a query count that does not grow with the escalations (tests at two sizes)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from escalations.models import Escalation
from helpdesk.models import Ticket


def _refs(html: str) -> list[str]:
    return re.findall(r'<th scope="row" class="esc-ref"><a class="ref" href="[^"]+">([^<]+)</a>', html)


def _escalations(n, *, customer, agent, make_ticket, escalate):
    now = timezone.now()
    return [
        escalate(
            make_ticket(customer, subject=f"Escalated {i}", category="outage"),
            agent,
            now=now - timedelta(minutes=100 - i),
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("n", [2, 53])
def test_inbox_and_review_query_counts_do_not_grow_with_the_escalations(
    config, customer, agent, specialist, manager, make_ticket, escalate, login, django_assert_max_num_queries, n
):
    # given n open escalations to the specialist's team
    _escalations(n, customer=customer, agent=agent, make_ticket=make_ticket, escalate=escalate)
    specialist_client = login(specialist)
    manager_client = login(manager, Client())
    specialist_client.get(reverse("escalation_inbox"))  # warm the session
    manager_client.get(reverse("escalation_review"))
    # when the inbox and the review queue render, then the same bound holds for 2 and 53 (a page is 50 rows)
    with django_assert_max_num_queries(13):
        inbox = specialist_client.get(reverse("escalation_inbox"))
    with django_assert_max_num_queries(11):
        review = manager_client.get(reverse("escalation_review"))
    assert len(_refs(inbox.content.decode())) == min(n, 50)
    assert len(_refs(review.content.decode())) == min(n, 50)


def test_inbox_pages_keep_the_pinned_rows_on_the_first_page_and_walk_the_rest_in_order(
    config, customer, agent, specialist, make_ticket, escalate, login, monkeypatch
):
    # given 7 open escalations, one with the caller waiting and one on an emergency ticket, 3 to a page
    hops = _escalations(7, customer=customer, agent=agent, make_ticket=make_ticket, escalate=escalate)
    Escalation.objects.filter(pk=hops[4].pk).update(caller_waiting=True)
    Ticket.objects.filter(pk=hops[5].ticket_id).update(is_emergency=True)
    monkeypatch.setattr("escalations.views.ESCALATION_PAGE_SIZE", 3)
    client = login(specialist)
    # when the specialist follows the next links, then the previous link back from the last page
    pages, cursor = [], {}
    while True:
        response = client.get(reverse("escalation_inbox"), cursor)
        page = response.context["page"]
        pages.append(_refs(response.content.decode())[:3])  # the first list on the page is the open escalations
        if page.next_after is None:
            break
        cursor = {"after": page.next_after}
    back = client.get(reverse("escalation_inbox"), {"before": page.previous_before}).context["page"]
    # then the caller, then the emergency, then the rest oldest first, each once; and "previous" is page 2
    refs = [hop.ticket.reference for hop in hops]
    expected = [refs[4], refs[5], refs[0], refs[1], refs[2], refs[3], refs[6]]
    assert [ref for page_refs in pages for ref in page_refs] == expected
    assert [hop.ticket.reference for hop in back.object_list] == expected[3:6]
    assert response.context["total"] == {"count": 7, "is_capped": False}
