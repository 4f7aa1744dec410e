"""Hostile text shows as inert text on every screen: subjects, bodies, names, template variables, file names."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from helpdesk import services
from helpdesk.models import ReplyTemplate

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
ESCAPED_IMG = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"


def _assert_inert(html: str, *, expect_escaped: int = 1) -> None:
    assert SCRIPT not in html
    assert "<img src=x" not in html
    assert "onerror=alert(1)>" not in html
    assert html.count(ESCAPED_SCRIPT) + html.count(ESCAPED_IMG) >= expect_escaped


def test_hostile_text_is_escaped_on_every_screen(
    client, login, agent, agent2, customer, teams, categories, make_ticket, other_client
):
    # given a customer and an agent with hostile names, a hostile subject, body, reply, note, file and template
    customer.first_name, customer.last_name = SCRIPT, IMG
    customer.save()
    agent.first_name = IMG
    agent.save()
    upload = SimpleUploadedFile(f"{IMG}.txt", b"hello", content_type="text/plain")
    ticket = make_ticket(customer, subject=f"Help {SCRIPT}", description=f"Body {IMG}", files=[upload])
    services.ticket_assign(ticket=ticket, actor=agent, team=teams["frontline"], assignee=agent)
    services.ticket_reply(ticket=ticket, author=agent, body=f"Reply {SCRIPT}")
    services.ticket_add_internal_note(ticket=ticket, author=agent, body=f"Note {IMG}")
    template = ReplyTemplate.objects.create(
        name=f"Tpl {SCRIPT}", category=categories["billing"], body="Dear {{customer_name}}, {{ticket_subject}}"
    )
    login(agent)
    login(customer, other_client)
    staff_pages = {
        "queue": client.get(reverse("ticket_list"), {"scope": "all"}),
        "search": client.get(reverse("ticket_list"), {"q": SCRIPT, "scope": "all"}),
        "workspace": client.get(reverse("ticket_detail", args=[ticket.reference]), {"template": template.pk}),
        "notifications": client.get(reverse("notification_list")),
    }
    # (the hostile agent is viewing; a colleague's poll lists them)
    client.post(reverse("ticket_presence", args=[ticket.reference]))
    colleague = login(agent2, Client())
    staff_pages["presence"] = colleague.post(reverse("ticket_presence", args=[ticket.reference]))
    customer_pages = {
        "portal list": other_client.get(reverse("ticket_list")),
        "portal ticket": other_client.get(reverse("ticket_detail", args=[ticket.reference])),
    }
    # then every page escapes it (and the search still works on the raw text)
    for name, response in {**staff_pages, **customer_pages}.items():
        assert response.status_code == 200, name
        _assert_inert(response.content.decode())
    workspace = staff_pages["workspace"].content.decode()
    # the template variables were substituted as text, then escaped inside the textarea
    assert f"Dear {ESCAPED_SCRIPT} {ESCAPED_IMG}, Help {ESCAPED_SCRIPT}</textarea>" in workspace
    assert f"{ESCAPED_IMG}.txt" in workspace
    assert [t.reference for t in staff_pages["search"].context["page"].object_list] == [ticket.reference]


def test_hostile_file_name_is_kept_as_data_not_a_path(customer, make_ticket):
    # given a file whose name tries to climb out of the storage folder
    upload = SimpleUploadedFile("../../etc/passwd.txt", b"x", content_type="text/plain")
    # when it is attached
    ticket = make_ticket(customer, files=[upload])
    # then the stored path is generated and the original name is only its last part
    attachment = ticket.attachments.get()
    assert attachment.original_name == "passwd.txt"
    assert ".." not in attachment.file.name
    assert attachment.file.name.startswith("attachments/")


def test_template_variables_are_not_a_template_language(agent, customer, categories, make_ticket):
    # given a template that tries to reach other data through the template engine
    from helpdesk.selectors import reply_template_render

    ticket = make_ticket(customer)
    template = ReplyTemplate.objects.create(
        name="Sneaky", body="{{customer_name}} {{ticket.customer.password}} {% debug %} {{ agent_name }}"
    )
    # when it is rendered
    text = reply_template_render(template=template, ticket=ticket, agent=agent)
    # then only the known variables are replaced; everything else stays literal text
    assert text == "Dana Reyes {{ticket.customer.password}} {% debug %} Alex Morgan"
