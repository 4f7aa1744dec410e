"""Guest chats (chat.guest): an anonymous visitor chats from the help centre, bound to their browser session; the
email is verified through the contact form's one confirmation link before anything reaches an account."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client, override_settings

from chat.models import ChatSession, ChatStatus
from chat.services import chat_accept, chat_post
from helpdesk.models import Notification, NotificationKind, Ticket
from helpdesk.notifications import notification_deliver

pytestmark = pytest.mark.django_db


def _start(client, *, email="visitor@northwind.test", body="My invoice shows a double charge.", category=None, **extra):
    data = {"name": "Vic Visitor", "email": email, "body": body, **extra}
    if category is not None:
        data["category"] = str(category.pk)
    return client.post("/chat/guest/", data, REMOTE_ADDR="10.0.0.1")


def _link(address: str) -> str:
    row = Notification.objects.get(kind=NotificationKind.HELP_REQUEST_CONFIRM, to_address=address)
    notification_deliver(notification_id=row.pk)
    message = next(m for m in mail.outbox if m.to == [address])
    match = re.search(r"https://helpdesk\.example\.test(/contact/confirm/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_a_visitor_chats_anonymously_and_sees_the_agents_answer(client, login, agent, teams, categories):
    # when: an anonymous visitor starts a chat about billing
    response = _start(client, category=categories["billing"])
    # then: it waits, routed like any chat, with no customer and no ticket, and an email link was sent
    assert response.status_code == 302 and response["Location"] == "/chat/guest/"
    session = ChatSession.objects.get()
    assert (session.status, session.customer, session.ticket, session.team) == (
        ChatStatus.WAITING,
        None,
        None,
        teams["frontline"],
    )
    assert Notification.objects.filter(kind=NotificationKind.HELP_REQUEST_CONFIRM).count() == 1
    page = client.get("/chat/guest/").content.decode()
    assert "You are number 1 in the queue." in page and "My invoice shows a double charge." in page
    # and the agent sees the guest, marked unverified, and answers
    console = login(agent, Client()).get("/chat/console/").content.decode()
    assert "Vic Visitor &lt;visitor@northwind.test&gt; (guest, unverified email)" in console
    chat_accept(session=session, agent=agent)
    chat_post(session=session, author=agent, body="Let me look at that invoice.")
    log = client.get(f"/chat/guest/{session.pk}/log/")
    assert log.status_code == 200
    assert "Let me look at that invoice." in log.content.decode()
    # and the guest answers back
    sent = client.post(f"/chat/guest/{session.pk}/send/", {"body": "Thanks!"}, headers={"HX-Request": "true"})
    assert sent.status_code == 200 and "Thanks!" in sent.content.decode()


def test_another_anonymous_client_cannot_read_or_write_the_chat(client, teams):
    _start(client)
    session = ChatSession.objects.get()
    other = Client()
    assert other.get(f"/chat/guest/{session.pk}/log/").status_code == 404
    assert other.post(f"/chat/guest/{session.pk}/send/", {"body": "hi"}).status_code == 404
    assert other.post(f"/chat/guest/{session.pk}/end/").status_code == 404
    assert "My invoice" not in other.get("/chat/guest/").content.decode()
    assert session.messages.count() == 1


def test_an_unverified_email_never_reaches_the_existing_customers_account(client, login, customer, agent, teams):
    # given: a stranger types an existing customer's address
    _start(client, email="customer@example.test")
    session = ChatSession.objects.get()
    chat_accept(session=session, agent=agent)
    client.post(f"/chat/guest/{session.pk}/end/")
    # then: no ticket in the customer's account, and the customer does not see the chat
    session.refresh_from_db()
    assert (session.status, session.customer, session.ticket) == (ChatStatus.ENDED, None, None)
    assert not Ticket.objects.filter(customer=customer).exists()
    signed_in = login(customer, Client())
    assert signed_in.get(f"/chat/{session.pk}/log/").status_code == 404
    assert "My invoice" not in signed_in.get("/chat/").content.decode()


def test_confirming_the_link_threads_the_transcript_ticket_into_the_account(client, login, customer, agent, teams):
    # given: the customer, not signed in, chats with their own address
    _start(client, email="customer@example.test")
    session = ChatSession.objects.get()
    chat_accept(session=session, agent=agent)
    chat_post(session=session, author=agent, body="Refund on its way.")
    # when: they follow the contact confirmation link
    confirmed = Client().post(_link("customer@example.test"))
    # then: the chat's ticket is in their account, with the transcript so far, assigned to the agent
    assert confirmed.status_code == 200
    session.refresh_from_db()
    ticket = Ticket.objects.get()
    assert session.ticket == ticket and session.customer == customer and session.guest_verified_at is not None
    assert (ticket.customer, ticket.channel, ticket.assignee) == (customer, "chat", agent)
    assert "Vic Visitor: My invoice shows a double charge." in ticket.description
    assert "Refund on its way." in ticket.description
    # and the guest's typing (now the customer's) shows to the agent, not to the guest themselves
    assert client.post(f"/chat/guest/{session.pk}/typing/").status_code == 204
    assert "is typing" not in client.get(f"/chat/guest/{session.pk}/log/").content.decode()
    assert (
        f"{customer.display_name} is typing…" in login(agent, Client()).get(f"/chat/{session.pk}/log/").content.decode()
    )
    # and ending writes the whole transcript there; confirming again changes nothing
    client.post(f"/chat/guest/{session.pk}/send/", {"body": "Great, bye."})
    client.post(f"/chat/guest/{session.pk}/end/")
    ticket.refresh_from_db()
    assert "Vic Visitor: Great, bye." in ticket.description
    Client().post(_link("customer@example.test"))
    assert Ticket.objects.count() == 1


@override_settings(CHAT_RATE_LIMIT_MESSAGES=3, CHAT_RATE_LIMIT_SECONDS=60)
def test_rate_limit_per_client_address_spans_visitor_sessions(teams):
    first, second = Client(), Client()
    _start(first)
    _start(second, email="other@northwind.test")
    mine = ChatSession.objects.get(guest_email="other@northwind.test")
    theirs = ChatSession.objects.exclude(pk=mine.pk).get()
    hx = {"HX-Request": "true"}
    assert "X-Chat-Refused" not in first.post(
        f"/chat/guest/{theirs.pk}/send/", {"body": "a"}, headers=hx, REMOTE_ADDR="10.0.0.1"
    )
    # three messages from 10.0.0.1 in the window (two starts and "a"): the second visitor is refused too
    refused = second.post(f"/chat/guest/{mine.pk}/send/", {"body": "b"}, headers=hx, REMOTE_ADDR="10.0.0.1")
    assert refused["X-Chat-Refused"] == "429"
    # from another address the session limit alone applies
    other = second.post(f"/chat/guest/{mine.pk}/send/", {"body": "c"}, headers=hx, REMOTE_ADDR="10.0.0.9")
    assert "X-Chat-Refused" not in other


@override_settings(CHAT_RATE_LIMIT_MESSAGES=3, CHAT_RATE_LIMIT_SECONDS=60)
def test_rate_limit_per_session_refuses_the_fourth_message(client, teams):
    _start(client)
    session = ChatSession.objects.get()
    url = f"/chat/guest/{session.pk}/send/"
    assert "X-Chat-Refused" not in client.post(url, {"body": "two"}, headers={"HX-Request": "true"})
    assert "X-Chat-Refused" not in client.post(url, {"body": "three"}, headers={"HX-Request": "true"})
    refused = client.post(url, {"body": "four"}, headers={"HX-Request": "true"})
    assert refused.status_code == 200 and refused["X-Chat-Refused"] == "429"
    assert "You are sending messages too quickly." in refused.content.decode()
    assert session.messages.count() == 3


@override_settings(CHAT_GUEST_MAX_OPEN_PER_IP=2)
def test_open_guest_chats_are_capped_per_client_address(teams):
    for _ in range(2):
        assert _start(Client()).status_code == 302
    refused = _start(Client())
    assert refused.status_code == 429
    assert "Too many chats are open from your network." in refused.content.decode()
    assert ChatSession.objects.count() == 2


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"name": "Vic", "email": "not-an-email", "body": "hi"},
        {"name": "", "email": "v@northwind.test", "body": "hi"},
        {"name": "Vic", "email": "v@northwind.test", "body": "x" * 2001},
        {"name": "Vic", "email": "v@northwind.test", "body": "hi", "category": "nope"},
    ],
)
def test_bad_input_is_a_clear_400(client, teams, data):
    response = client.post("/chat/guest/", data)
    assert response.status_code == 400
    assert ChatSession.objects.count() == 0


def test_bad_messages_and_unknown_chats_are_never_a_500(client, teams):
    _start(client)
    session = ChatSession.objects.get()
    assert client.post(f"/chat/guest/{session.pk}/send/", {"body": ""}).status_code == 400
    assert client.post(f"/chat/guest/{session.pk}/send/", {"body": "y" * 2001}).status_code == 400
    assert client.get("/chat/guest/999999/log/").status_code == 404
    session_data = client.session
    session_data["chat_guest"] = "garbage"
    session_data.save()
    assert client.get("/chat/guest/").status_code == 200


def test_staff_cannot_escalate_an_unverified_guest_chat_but_can_end_it(client, login, agent, teams):
    _start(client)
    session = ChatSession.objects.get()
    chat_accept(session=session, agent=agent)
    console = login(agent, Client())
    response = console.post(f"/chat/{session.pk}/callback/", {"starts_in_minutes": "0"}, follow=True)
    assert "has not confirmed their email" in response.content.decode()
    ended = console.post(f"/chat/{session.pk}/end/", follow=True)
    assert "no ticket yet" in ended.content.decode()
    session.refresh_from_db()
    assert session.status == ChatStatus.ENDED and Ticket.objects.count() == 0


def test_the_help_centre_sends_anonymous_visitors_to_the_guest_chat(client):
    page = client.get("/help/").content.decode()
    assert 'href="/chat/guest/">Chat with us</a>' in page


@pytest.mark.parametrize(
    ("language", "hello", "page_words"),
    [
        ("fr", "Bonjour Vic Visitor,", "Nous avons envoyé un lien"),
        ("es", "Hola, Vic Visitor:", "Hemos enviado un enlace"),
    ],
)
def test_the_confirmation_email_and_page_are_in_the_visitors_language(client, teams, language, hello, page_words):
    from django.utils import translation

    with translation.override("en-gb"):
        client.post(
            "/chat/guest/",
            {"name": "Vic Visitor", "email": "vic@northwind.test", "body": "Bonjour"},
            headers={"Accept-Language": language},
        )
        page = client.get("/chat/guest/", headers={"Accept-Language": language}).content.decode()
    row = Notification.objects.get(kind=NotificationKind.HELP_REQUEST_CONFIRM, to_address="vic@northwind.test")
    assert row.body.startswith(hello)
    assert page_words in page


def test_the_signed_out_widget_offers_a_guest_chat(client):
    page = client.get("/chat/widget/").content.decode()
    assert 'href="/chat/guest/" target="_blank" rel="noopener">Chat without an account</a>' in page


def test_the_guest_log_runs_a_fixed_number_of_queries(client, login, agent, teams, django_assert_max_num_queries):
    _start(client)
    session = ChatSession.objects.get()
    chat_accept(session=session, agent=agent)
    chat_post(session=session, author=agent, body="Hello")
    with django_assert_max_num_queries(12) as few:
        client.get(f"/chat/guest/{session.pk}/log/")
    for n in range(20):
        chat_post(session=session, author=agent, body=f"Line {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert "Line 19" in client.get(f"/chat/guest/{session.pk}/log/").content.decode()


def test_guest_chats_and_the_contact_form_resolve_the_customer_by_the_same_rule(client, org, agent, teams):
    """One rule (``email_sender_resolve`` inside ``help_request_confirm``): an unknown address of an organisation's
    domain becomes a contact of that organisation; an address with no organisation opens nothing, for both."""
    from django.contrib.auth import get_user_model

    _start(client, email="new.person@northwind.test")
    assert Client().post(_link("new.person@northwind.test")).status_code == 200
    session = ChatSession.objects.get()
    new = get_user_model().objects.get(email="new.person@northwind.test")
    assert (session.customer, new.organization, new.is_customer) == (new, org, True)
    assert session.ticket.customer == new
    # and an address with no organisation: the link says so, the chat stays unverified, no ticket
    stranger = Client()
    _start(stranger, email="someone@nowhere.test")
    refused = Client().post(_link("someone@nowhere.test"))
    assert refused.status_code == 400 and "We could not open a request" in refused.content.decode()
    unverified = ChatSession.objects.get(guest_email="someone@nowhere.test")
    assert (unverified.customer, unverified.ticket, unverified.guest_verified_at) == (None, None, None)
    assert Ticket.objects.count() == 1


def test_signed_in_users_chat_from_their_account(login, customer, agent):
    assert login(customer).get("/chat/guest/")["Location"] == "/chat/"
    assert login(agent, Client()).get("/chat/guest/")["Location"] == "/chat/console/"


def test_a_guests_typing_shows_on_the_staff_log_and_pushes_a_frame_to_staff(
    client, login, agent, teams, frames, django_capture_on_commit_callbacks
):
    # given: an accepted guest chat
    _start(client)
    session = ChatSession.objects.get()
    chat_accept(session=session, agent=agent)
    page = client.get("/chat/guest/").content.decode()
    assert f'data-chat-typing="/chat/guest/{session.pk}/typing/"' in page
    frames.clear()
    # when: the guest types (twice: one frame only)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/chat/guest/{session.pk}/typing/").status_code == 204
        assert client.post(f"/chat/guest/{session.pk}/typing/").status_code == 204
    # then: the agent got one frame and their log shows the guest typing
    assert frames == [("chat", {"chat": session.pk, "change": "typing"}, (agent.pk,))]
    staff_log = login(agent, Client()).get(f"/chat/{session.pk}/log/").content.decode()
    assert "Vic Visitor is typing…" in staff_log
    # and the guest does not see themselves typing
    assert "is typing" not in client.get(f"/chat/guest/{session.pk}/log/").content.decode()


def test_another_anonymous_clients_typing_is_404(client, teams):
    _start(client)
    session = ChatSession.objects.get()
    assert Client().post(f"/chat/guest/{session.pk}/typing/").status_code == 404
    assert ChatSession.objects.get().customer_typing_at is None
    # and the guest's own typing in an ended chat is refused, not a 500
    client.post(f"/chat/guest/{session.pk}/end/")
    assert client.post(f"/chat/guest/{session.pk}/typing/").status_code == 409
