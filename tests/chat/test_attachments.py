"""Files in a live chat: the product's attachment rules (``helpdesk.attachments``), downloads for the people in the
chat only (then by the ticket's rule), the files on the chat's ticket at the end, named by the transcript."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from chat.models import ChatAttachment
from chat.services import chat_accept, chat_end, chat_escalate, chat_post
from helpdesk.errors import Invalid
from helpdesk.models import Attachment, EventKind

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HTMX = {"HX-Request": "true"}


def _send(client, session, **data):
    return client.post(f"/chat/{session.pk}/send/", data, headers=HTMX)


def test_a_customer_sends_an_allowed_file_and_both_sides_can_download_it(login, customer, agent, start_chat, client):
    # given a chat taken by the agent
    session = chat_accept(session=start_chat(customer), agent=agent)
    login(customer)

    # when the customer sends a screenshot with a word, then a file alone
    response = _send(client, session, body="Here it is", attachment=SimpleUploadedFile("../x/invoice shot.png", PNG))
    alone = _send(client, session, body="", attachment=SimpleUploadedFile("log.txt", b"error 42\n"))

    # then both are in the chat, stored under generated names with the type the rules give, shown in the log
    assert (response.status_code, alone.status_code) == (200, 200)
    assert "X-Chat-Refused" not in response
    files = list(ChatAttachment.objects.order_by("pk"))
    assert [(f.original_name, f.content_type, f.message.body) for f in files] == [
        ("invoice shot.png", "image/png", "Here it is"),
        ("log.txt", "text/plain", ""),
    ]
    assert files[0].file.name.startswith("chat/") and "invoice" not in files[0].file.name
    assert "invoice shot.png" in alone.content.decode() and f"/chat/file/{files[0].pk}/" in alone.content.decode()
    # and the customer and the agent download it, as an attachment
    download = client.get(f"/chat/file/{files[0].pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG
    assert download["Content-Disposition"].startswith("attachment;")
    login(agent)
    assert client.get(f"/chat/file/{files[0].pk}/").status_code == 200


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("invoice.exe", b"MZ\x90\x00", "“invoice.exe” is not an allowed file type. Allowed types: csv, docx"),
        ("fake.png", b"<html><script>alert(1)</script>", "The content of “fake.png” does not match its .png"),
        ("big.txt", b"a" * 2048, "“big.txt” is 2.0\xa0KB; the limit is 1.0\xa0KB."),
    ],
)
@override_settings(ATTACHMENT_MAX_BYTES=1024)
def test_a_file_the_rules_refuse_is_the_composers_error_not_a_500(
    login, customer, agent, start_chat, client, name, content, message
):
    session = chat_accept(session=start_chat(customer), agent=agent)
    login(customer)
    response = _send(client, session, body="see file", attachment=SimpleUploadedFile(name, content))
    # the refusal is on the composer (htmx swaps 2xx only; the status is in the header), and nothing was kept
    assert response.status_code == 200
    assert response["X-Chat-Refused"] == "400"
    assert message in response.content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”")
    assert ChatAttachment.objects.count() == 0
    assert session.messages.filter(body="see file").count() == 0


def test_outsiders_cannot_download_a_chat_file(login, customer, customer2, agent, agent2, start_chat, client):
    session = chat_accept(session=start_chat(customer), agent=agent)
    message = chat_post(session=session, author=customer, body="", upload=SimpleUploadedFile("shot.png", PNG))
    chat_file = message.attachments.get()
    for outsider in (customer2, agent2):  # another customer; a colleague of the agent not in the chat
        login(outsider)
        assert client.get(f"/chat/file/{chat_file.pk}/").status_code == 404
    assert client.get("/chat/file/999999/").status_code == 404


def test_the_chats_files_go_to_its_ticket_at_the_end_and_the_transcript_names_them(
    login, customer, customer2, agent, start_chat, client
):
    # given a chat where the agent and the customer each sent a file
    session = chat_accept(session=start_chat(customer), agent=agent)
    chat_post(session=session, author=agent, body="The form", upload=SimpleUploadedFile("form.pdf", b"%PDF-1.4 x"))
    chat_post(session=session, author=customer, body="", upload=SimpleUploadedFile("shot.png", PNG))

    # when the chat ends, twice
    ticket = chat_end(session=session, actor=customer)
    chat_end(session=session, actor=agent)

    # then the ticket holds each file once, public, on its opening event, through the attachment service
    stored = list(Attachment.objects.filter(ticket=ticket).order_by("pk"))
    assert [(a.original_name, a.content_type, a.is_public, a.event.kind) for a in stored] == [
        ("form.pdf", "application/pdf", True, EventKind.CREATED),
        ("shot.png", "image/png", True, EventKind.CREATED),
    ]
    assert stored[1].file.read() == PNG and stored[1].file.name.startswith("attachments/")
    assert [f.ticket_attachment_id for f in ChatAttachment.objects.order_by("pk")] == [a.pk for a in stored]
    ticket.refresh_from_db()
    assert "Alex Morgan: The form\n[Attachment: form.pdf]" in ticket.description
    assert "Dana Reyes:\n[Attachment: shot.png]" in ticket.description
    # and from now on the ticket's rule decides: the customer downloads it, from the chat and from the ticket
    chat_file = ChatAttachment.objects.get(original_name="shot.png")
    login(customer)
    assert client.get(f"/chat/file/{chat_file.pk}/").status_code == 200
    assert client.get(f"/attachments/{stored[1].pk}/").status_code == 200
    login(customer2)
    assert client.get(f"/chat/file/{chat_file.pk}/").status_code == 404


def test_escalating_then_ending_moves_each_file_once(start_chat, customer, agent, teams):
    session = chat_accept(session=start_chat(customer), agent=agent)
    chat_post(session=session, author=customer, body="", upload=SimpleUploadedFile("one.png", PNG))
    chat_escalate(session=session, actor=agent, team=teams["technical"])
    chat_post(session=session, author=customer, body="", upload=SimpleUploadedFile("two.png", PNG))
    ticket = chat_end(session=session, actor=agent)
    assert sorted(ticket.attachments.values_list("original_name", flat=True)) == ["one.png", "two.png"]


def test_files_count_towards_the_rate_limit(start_chat, customer, agent):
    session = chat_accept(session=start_chat(customer), agent=agent)
    with override_settings(CHAT_RATE_LIMIT_MESSAGES=1), pytest.raises(Invalid, match="too quickly"):
        chat_post(session=session, author=customer, body="", upload=SimpleUploadedFile("a.png", PNG))
    assert ChatAttachment.objects.count() == 0


@override_settings(ATTACHMENT_MAX_BYTES=1024)
def test_a_french_customer_reads_the_refusal_and_the_composer_in_french(login, customer, agent, start_chat, client):
    session = chat_accept(session=start_chat(customer), agent=agent)
    login(customer)
    response = client.post(
        f"/chat/{session.pk}/send/",
        {"body": "", "attachment": SimpleUploadedFile("big.txt", b"a" * 2048)},
        headers=HTMX,
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    page = response.content.decode()
    assert "« big.txt » fait 2,0\xa0Kio ; la limite est de 1,0\xa0Kio." in page
    assert "Joindre un fichier" in page


def test_erasing_the_customer_deletes_their_chat_files_and_the_tickets_copies(
    start_chat, customer, agent, manager, admin_user
):
    from privacy.models import RequestKind
    from privacy.services import data_request_create, data_request_decide

    # given a customer's file in an open chat and one already on the ticket of an ended chat
    ended = chat_accept(session=start_chat(customer), agent=agent)
    chat_post(session=ended, author=customer, body="", upload=SimpleUploadedFile("passport.png", PNG))
    ticket = chat_end(session=ended, actor=agent)
    live = chat_accept(session=start_chat(customer, message="Again"), agent=agent)
    chat_post(session=live, author=customer, body="", upload=SimpleUploadedFile("payslip.pdf", b"%PDF-1.4 x"))
    stored = [(f.file.storage, f.file.name) for f in ChatAttachment.objects.all()]
    stored += [(a.file.storage, a.file.name) for a in Attachment.objects.filter(ticket=ticket)]
    assert len(stored) == 3 and all(storage.exists(name) for storage, name in stored)

    # when the customer is erased
    request = data_request_create(actor=manager, customer=customer, kind=RequestKind.ERASURE, reason="DSR-1")
    data_request_decide(request=request, actor=admin_user, approve=True)

    # then no stored copy is left, and the chat files' names are gone
    assert not any(storage.exists(name) for storage, name in stored)
    assert set(ChatAttachment.objects.values_list("original_name", flat=True)) == {"[erased]"}
