import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from helpdesk import services
from helpdesk.models import Attachment

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_customer_uploads_allowed_file_with_generated_storage_name(customer, login, teams, client):
    login(customer)
    upload = SimpleUploadedFile("../../etc/passwd screenshot.png", PNG, content_type="text/html")
    response = client.post(
        "/tickets/new/", {"subject": "Broken", "description": "See screenshot", "attachments": [upload]}
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    # the stored name is generated; the user's name is only data; the declared content type is ignored
    assert attachment.original_name == "passwd screenshot.png"
    assert attachment.content_type == "image/png"
    assert "passwd" not in attachment.file.name and attachment.file.name.startswith("attachments/")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "invoice.exe",
            b"MZ\x90\x00",
            "“invoice.exe” is not an allowed file type. Allowed types: csv, docx, eml, gif, jpeg, jpg, log, pdf, png, "
            "txt, webp, xlsx, zip.",
        ),
        ("page.html", b"<script>alert(1)</script>", "“page.html” is not an allowed file type."),
        (
            "fake.png",
            b"<html><script>alert(1)</script>",
            "The content of “fake.png” does not match its .png extension.",
        ),
        ("notes.txt", b"\x00\x01\x02binary", "“notes.txt” does not look like a text file."),
        ("empty.pdf", b"", "The submitted file is empty."),
    ],
)
def test_attachment_outside_allowlist_is_a_form_error_not_a_500(customer, login, teams, client, name, content, message):
    login(customer)
    response = client.post(
        "/tickets/new/",
        {"subject": "Broken", "description": "See file", "attachments": [SimpleUploadedFile(name, content)]},
    )
    # the form is shown again with the error next to the field, and nothing was saved
    assert response.status_code == 200
    errors = response.context["form"].errors["attachments"]
    assert any(error.startswith(message) for error in errors), errors
    assert Attachment.objects.count() == 0
    assert customer.customer_tickets.count() == 0


@override_settings(ATTACHMENT_MAX_BYTES=1024)
def test_oversized_attachment_is_refused(customer, login, teams, client):
    login(customer)
    response = client.post(
        "/tickets/new/",
        {"subject": "Big", "description": "x", "attachments": [SimpleUploadedFile("big.txt", b"a" * 2048)]},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["attachments"] == ["“big.txt” is 2.0\xa0KB; the limit is 1.0\xa0KB."]


def test_download_is_permission_checked_and_served_as_attachment(
    customer, customer2, agent, make_ticket, client, login
):
    ticket = make_ticket(customer, files=[SimpleUploadedFile("shot.png", PNG)])
    note = services.ticket_add_internal_note(
        ticket=ticket, author=agent, body="log", files=[SimpleUploadedFile("internal.txt", b"secret log")]
    )
    public = Attachment.objects.get(original_name="shot.png")
    internal = Attachment.objects.get(event=note)

    login(customer)
    response = client.get(f"/attachments/{public.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG
    # the customer never gets staff-only attachments, and another organisation gets nothing at all
    assert client.get(f"/attachments/{internal.pk}/").status_code == 404
    login(customer2)
    assert client.get(f"/attachments/{public.pk}/").status_code == 404
    login(agent)
    assert client.get(f"/attachments/{internal.pk}/").status_code == 200
