"""The risk column of the agent queue: sortable, filterable by level, and only ever about tickets the viewer may
see (the column is contributed by escalations through helpdesk's queue-column registry)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.models import Ticket

QUEUE = reverse("ticket_list")
CALM = "Could you send me the invoice for October?"
MEDIUM = "I want to speak to a manager about this."
HIGH = "Our lawyer will be in touch. This is unacceptable and I want to speak to a manager."


def _refs(response) -> list[str]:
    return [t.reference for t in response.context["page"].object_list]


@pytest.fixture
def risky(config, customer, make_ticket):
    return {
        name: make_ticket(customer, subject=f"{name} ticket", description=text)
        for name, text in (("calm", CALM), ("medium", MEDIUM), ("high", HIGH))
    }


def test_the_queue_sorts_by_risk_highest_first_and_shows_the_level(client, login, agent, risky):
    # given three tickets whose customers wrote calmly, asked for a manager, and threatened lawyers
    login(agent)
    # when the agent sorts the queue by risk
    response = client.get(QUEUE, {"scope": "all", "sort": "risk"})
    # then the riskiest comes first and each row shows its level and score
    assert _refs(response) == [risky[k].reference for k in ("high", "medium", "calm")]
    content = response.content.decode()
    assert '<a href="?scope=all&amp;sort=risk">Risk</a>' in content
    assert ">High 80</span>" in content and ">Medium 30</span>" in content


@pytest.mark.parametrize(
    ("level", "expected"), [("high", {"high"}), ("medium", {"high", "medium"}), ("any", {"high", "medium"})]
)
def test_the_queue_filters_by_risk_level(client, login, agent, risky, level, expected):
    login(agent)
    response = client.get(QUEUE, {"scope": "all", "risk": level})
    assert set(_refs(response)) == {risky[k].reference for k in expected}
    assert response.context["filtered"] is True


def test_an_unknown_risk_level_is_a_form_error_not_a_500(client, login, agent, risky):
    login(agent)
    response = client.get(QUEUE, {"scope": "all", "risk": "extreme"})
    assert response.status_code == 200
    assert "Select a valid choice. extreme is not one of the available choices." in response.content.decode()


def test_a_restricted_tickets_risk_is_neither_shown_nor_counted_for_outsiders(
    client, login, agent, manager, teams, risky
):
    # given the high-risk ticket is restricted to the compliance team
    Ticket.objects.filter(pk=risky["high"].pk).update(restricted=True, team=teams["compliance"])
    # when a frontline agent filters the queue by high risk, then nothing shows and nothing is counted
    login(agent)
    response = client.get(QUEUE, {"scope": "all", "risk": "high"})
    assert _refs(response) == [] and response.context["paginator"].count == 0
    assert risky["high"].reference not in response.content.decode()
    # but a manager (tier 3) sees it
    login(manager)
    response = client.get(QUEUE, {"scope": "all", "risk": "high"})
    assert _refs(response) == [risky["high"].reference]


@pytest.mark.parametrize("n", [3, 30])
def test_sorting_and_filtering_by_risk_costs_no_query_per_row(
    client, login, agent, customer, make_ticket, config, django_assert_max_num_queries, n
):
    for i in range(n):
        make_ticket(customer, subject=f"Load {i}", description=HIGH if i % 2 else CALM)
    login(agent)
    client.get(QUEUE)  # warm the session
    with django_assert_max_num_queries(13):  # the queue's own bound (tests/helpdesk/screens/test_queue.py)
        response = client.get(QUEUE, {"scope": "all", "sort": "risk", "risk": "any"})
    assert len(_refs(response)) == min(n // 2, 25)


def test_the_stored_risk_key_follows_every_score_written(risky, customer, make_ticket):
    # given tickets read by the message service (calm, medium, high) and one whose assessment is then rescored
    from escalations.models import RiskAssessment
    from escalations.services.risk import risk_orders_store

    bare = make_ticket(customer, subject="no reading", description=CALM)
    RiskAssessment.objects.filter(ticket=bare).delete()
    risk_orders_store(ticket_ids=[bare.pk])

    def stored() -> dict[int, int]:
        return dict(Ticket.objects.values_list("pk", "risk_order"))

    def expected() -> dict[int, int]:
        scores = dict(RiskAssessment.objects.values_list("ticket_id", "score"))
        return {pk: -scores[pk] if pk in scores else 1 for pk in Ticket.objects.values_list("pk", flat=True)}

    # then the ticket's key is the negated score (1 without an assessment), for the service's writes
    assert stored() == expected()
    assert stored()[bare.pk] == 1 and stored()[risky["high"].pk] == -80
    # and after a batch writer changes scores (the model's rescoring calls the same function)
    RiskAssessment.objects.filter(ticket=risky["calm"]).update(score=95)
    risk_orders_store(ticket_ids=[risky["calm"].pk, bare.pk])
    assert stored() == expected()
    assert stored()[risky["calm"].pk] == -95


def test_the_risk_sort_reads_the_stored_key_in_the_index_order(client, login, agent, risky, customer, make_ticket):
    # given a ticket without any assessment next to the three read ones
    from escalations.models import RiskAssessment
    from helpdesk.filters import queue_order

    bare = make_ticket(customer, subject="no reading", description=CALM)
    RiskAssessment.objects.filter(ticket=bare).delete()
    Ticket.objects.filter(pk=bare.pk).update(risk_order=1)
    # then the risk order is the partial index's columns on the ticket alone (no join to sort by)
    sql = str(queue_order(Ticket.objects.values("pk"), "risk").query)
    assert "riskassessment" not in sql.lower()
    order = sql[sql.index("ORDER BY") :]
    assert order.index("is_emergency") < order.index("risk_order") < order.index("sla_order_at")
    # and the queue lists the riskiest first, a ticket never read last
    login(agent)
    refs = _refs(client.get(QUEUE, {"scope": "all", "sort": "risk"}))
    assert refs[:3] == [risky[k].reference for k in ("high", "medium", "calm")] and refs[-1] == bare.reference
