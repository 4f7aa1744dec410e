"""Live chat pages: the customer's chat, its log fragment (its own only), the console (staff, constant queries)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from chat.models import ChatSession, ChatStatus
from chat.services import chat_accept, chat_post

pytestmark = pytest.mark.django_db


def test_a_customer_starts_a_chat_and_sees_their_place_in_the_queue(login, customer, customer2, start_chat, categories):
    # given another customer already waiting
    start_chat(customer2)
    client = login(customer)

    # when the customer starts a chat from the page
    response = client.post("/chat/", {"category": categories["billing"].pk, "body": "Where is my refund?"})

    # then the page shows their chat, second in the queue, refreshed by its push frames (no timed poll)
    assert response.status_code == 302
    page = client.get("/chat/").content.decode()
    assert "You are number 2 in the queue." in page
    assert "Where is my refund?" in page
    assert 'hx-trigger="live-poll from:body, chat-recheck"' in page
    assert "every 3s" not in page


def test_an_empty_first_message_is_a_form_error(login, customer):
    response = login(customer).post("/chat/", {"body": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ChatSession.objects.exists()


def test_a_customer_cannot_read_or_write_another_customers_chat(login, customer, customer2, start_chat):
    # given the other customer's chat
    session = start_chat(customer2, message="Private words")
    client = login(customer)

    # then its log is a 404 to this customer, and so is writing or ending it
    assert client.get(f"/chat/{session.pk}/log/").status_code == 404
    assert client.post(f"/chat/{session.pk}/send/", {"body": "hi"}).status_code == 404
    assert client.post(f"/chat/{session.pk}/end/").status_code == 404
    assert session.messages.count() == 1


def test_the_console_is_for_staff(login, customer):
    assert login(customer).get("/chat/console/").status_code == 403


def test_an_agent_accepts_answers_over_htmx_and_ends_a_chat_into_a_ticket(login, customer, agent, start_chat):
    session = start_chat(customer)
    client = login(agent)

    # when the agent accepts and answers through the composer (htmx)
    assert client.post(f"/chat/{session.pk}/accept/").status_code == 302
    answer = client.post(f"/chat/{session.pk}/send/", {"body": "Refund sent."}, headers={"HX-Request": "true"})

    # then the fragment carries the new message and a fresh composer swapped out of band
    body = answer.content.decode()
    assert answer.status_code == 200
    assert "Refund sent." in body
    assert f'id="chat-composer-{session.pk}"' in body and 'hx-swap-oob="true"' in body

    # and ending it shows the ticket's reference on the console
    page = client.post(f"/chat/{session.pk}/end/", follow=True).content.decode()
    session.refresh_from_db()
    assert session.status == ChatStatus.ENDED
    assert f"Chat ended: ticket {session.ticket.reference} holds the transcript." in page


def test_a_rate_limited_message_comes_back_as_the_composers_error(login, customer, agent, start_chat):
    session = chat_accept(session=start_chat(customer), agent=agent)
    client = login(customer)
    with override_settings(CHAT_RATE_LIMIT_MESSAGES=1):
        response = client.post(f"/chat/{session.pk}/send/", {"body": "again"}, headers={"HX-Request": "true"})
    assert response["X-Chat-Refused"] == "429"
    assert "You are sending messages too quickly. Please wait a few seconds." in response.content.decode()


@override_settings(CHAT_MAX_CONCURRENT_PER_AGENT=5)
def test_the_console_runs_a_constant_number_of_queries(
    login, agent, org, start_chat, django_user_model, django_assert_max_num_queries
):
    def customers(n, prefix):
        return [
            django_user_model.objects.create_user(
                username=f"{prefix}{i}", password="x", role="customer", organization=org
            )
            for i in range(n)
        ]

    client = login(agent)
    # given one active chat and one waiting
    for person in customers(1, "a"):
        chat_post(session=chat_accept(session=start_chat(person), agent=agent), author=agent, body="hi")
    start_chat(customers(1, "w")[0])
    with django_assert_max_num_queries(30) as small:
        client.get("/chat/console/")

    # when there are four active chats with messages and six waiting
    for person in customers(3, "b"):
        chat_post(session=chat_accept(session=start_chat(person), agent=agent), author=agent, body="hi")
    for person in customers(5, "x"):
        start_chat(person)

    # then the console costs the same number of queries
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/chat/console/")
    assert response.content.decode().count('class="card chat-pane"') == 4
    assert "Waiting (6)" in response.content.decode()


def test_the_customers_polling_stops_once_the_chat_has_ended(login, customer, agent, start_chat):
    # given a chat the agent has ended
    session = chat_accept(session=start_chat(customer), agent=agent)
    login(agent).post(f"/chat/{session.pk}/end/")

    # when the customer's page polls its fragment
    fragment = login(customer).get(f"/chat/{session.pk}/log/").content.decode()

    # then it says so, links the request, carries no trigger, and swaps the composer and end button away
    session.refresh_from_db()
    assert "This chat has ended." in fragment and session.ticket.reference in fragment
    assert "hx-trigger" not in fragment
    assert f'<div id="chat-composer-{session.pk}" hx-swap-oob="true"></div>' in fragment
