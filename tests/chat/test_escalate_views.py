"""The console's escalate and callback actions, the typing endpoint and what the customer's page shows of them
(in their language); the console's query count with participants."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils import translation

from chat.models import ChatSession, ChatStatus
from chat.services import chat_accept, chat_escalate, chat_post, chat_specialist_join, chat_typing
from escalations.models import Callback, Escalation
from escalations.services import escalation_accept

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_chat(start_chat, customer, agent):
    session = chat_accept(session=start_chat(customer), agent=agent)
    chat_post(session=session, author=agent, body="Let me look.")
    return session


def test_the_agent_escalates_from_the_console_and_the_specialist_then_has_the_chat(
    login, client, live_chat, agent, specialist, teams
):
    # when the agent asks the technical team to join from the console
    response = login(agent).post(
        f"/chat/{live_chat.pk}/escalate/",
        {"team": teams["technical"].pk, "escalation_type": "technical", "note": "Gateway"},
        follow=True,
    )

    # then the console says so and shows the pending transfer
    page = response.content.decode()
    assert "Technical was asked to join" in page
    assert "Waiting for Technical to accept" in page
    escalation = Escalation.objects.get()

    # when the specialist accepts through the escalations' own view, then the console shows them the chat
    client.logout()
    login(specialist).post(f"/escalations/{escalation.pk}/accept/")
    page = client.get("/chat/console/").content.decode()
    assert 'class="card chat-pane"' in page and "Let me look." in page
    assert "you (specialist)" in page and "Alex Morgan (agent)" in page
    assert "Bring in a specialist" not in page  # only the chat's agent escalates


def test_a_refused_escalation_is_a_message_not_a_500(login, live_chat, agent2, agent, teams):
    # a staff member outside the chat cannot even see it
    assert login(agent2).post(f"/chat/{live_chat.pk}/escalate/", {"team": teams["technical"].pk}).status_code == 404
    # a frontline team is not offered and not accepted
    response = login(agent).post(
        f"/chat/{live_chat.pk}/escalate/", {"team": teams["frontline"].pk, "escalation_type": "technical"}, follow=True
    )
    assert response.status_code == 200
    assert "Choose a specialist team and the type of problem." in response.content.decode()
    assert not Escalation.objects.exists()


def test_the_customer_sees_the_specialist_join_and_the_transfer_in_french(
    login, live_chat, agent, specialist, customer, teams
):
    escalation = chat_escalate(session=live_chat, actor=agent, team=teams["technical"])
    client = login(customer)
    waiting = client.get(f"/chat/{live_chat.pk}/log/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    escalation_accept(escalation=escalation, actor=specialist)
    joined = client.get(f"/chat/{live_chat.pk}/log/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    with translation.override("fr"):
        assert translation.gettext("A specialist is joining this chat. Please stay here.") in waiting
    assert "Un spécialiste rejoint cette discussion" in waiting
    assert "Priya Shah (spécialiste) a rejoint la discussion." in joined


def test_the_customer_sees_the_agent_typing_on_the_next_poll(login, live_chat, agent, customer):
    chat_typing(session=live_chat, user=agent)
    page = login(customer).get(f"/chat/{live_chat.pk}/log/").content.decode()
    assert "Alex is typing…" in page


def test_typing_posts_answer_204_and_refuse_outsiders_with_404(login, client, live_chat, customer, agent2):
    assert login(customer).post(f"/chat/{live_chat.pk}/typing/").status_code == 204
    client.logout()
    assert login(agent2).post(f"/chat/{live_chat.pk}/typing/").status_code == 404


@override_settings(CALLBACK_WINDOW_MINUTES=60)
def test_converting_to_a_callback_from_the_console_and_the_customer_sees_the_promise(
    login, client, live_chat, agent, customer
):
    # when the agent converts the chat
    response = login(agent).post(
        f"/chat/{live_chat.pk}/callback/", {"starts_in_minutes": "60", "number": "0201", "reason": "Owner"}, follow=True
    )

    # then the console says so, and the customer's chat page (Spanish) shows the promised window
    callback = Callback.objects.get()
    assert f"ticket {callback.ticket.reference} holds the transcript" in response.content.decode()
    assert ChatSession.objects.get().status == ChatStatus.ENDED
    client.logout()
    login(customer)
    log = client.get(f"/chat/{live_chat.pk}/log/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    page = client.get("/chat/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Le llamaremos el" in log and "Le llamaremos el" in page
    assert "hx-trigger" not in log  # ended: the polling stops


def test_a_bad_callback_window_is_a_message_not_a_500(login, live_chat, agent):
    response = login(agent).post(f"/chat/{live_chat.pk}/callback/", {"starts_in_minutes": "-5"}, follow=True)
    assert response.status_code == 200 and "Choose when to call back." in response.content.decode()
    assert not Callback.objects.exists()


@override_settings(CHAT_MAX_CONCURRENT_PER_AGENT=6)
def test_the_console_with_participants_runs_a_constant_number_of_queries(
    login, agent, specialist, teams, org, start_chat, django_user_model, django_assert_max_num_queries
):
    def escalated_chats(n, prefix):
        for i in range(n):
            person = django_user_model.objects.create_user(
                username=f"{prefix}{i}", password="x", role="customer", organization=org
            )
            session = chat_accept(session=start_chat(person), agent=agent)
            chat_post(session=session, author=agent, body="hi")
            if i % 2 == 0:  # half escalated and joined, half with the transfer still waiting
                escalation_accept(
                    escalation=chat_escalate(session=session, actor=agent, team=teams["technical"]), actor=specialist
                )
                chat_post(session=session, author=specialist, body="on it")
            else:
                chat_escalate(session=session, actor=agent, team=teams["technical"])
                chat_specialist_join(session=session, specialist=specialist)

    client = login(agent)
    # given two escalated chats with their specialist
    escalated_chats(2, "a")
    with django_assert_max_num_queries(40) as small:
        client.get("/chat/console/")

    # when there are six
    escalated_chats(4, "b")

    # then the console costs the same number of queries
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/chat/console/")
    page = response.content.decode()
    assert page.count('class="card chat-pane"') == 6
    assert page.count('<span class="chat-person specialist">Priya Shah (specialist)') == 6


def test_the_accepted_chat_escalation_links_the_accepter_to_the_chat_and_no_other_escalation_does(
    login, live_chat, agent, specialist, customer, teams, make_ticket, escalate, config
):
    # given: the chat's warm transfer, accepted by the specialist, and an ordinary escalation they accepted too
    escalation = chat_escalate(session=live_chat, actor=agent, team=teams["technical"])
    other = escalate(make_ticket(customer), agent)
    client = login(specialist)
    link = f'href="/chat/console/#chat-log-{live_chat.pk}"'
    # before accepting they are not in the chat: no link
    assert link not in client.get(f"/escalations/{escalation.pk}/").content.decode()
    escalation_accept(escalation=escalation, actor=specialist)
    escalation_accept(escalation=other, actor=specialist)

    # then: the chat's escalation page links them to the chat; the other escalation's page does not
    page = client.get(f"/escalations/{escalation.pk}/").content.decode()
    assert link in page and "Join the live chat" in page
    assert "Join the live chat" not in client.get(f"/escalations/{other.pk}/").content.decode()
    # and once the chat has ended there is nothing to join
    ChatSession.objects.filter(pk=live_chat.pk).update(status=ChatStatus.ENDED)
    assert "Join the live chat" not in client.get(f"/escalations/{escalation.pk}/").content.decode()
