"""The customer side in each shipped language, in Chromium: the help centre for an anonymous visitor whose browser
asks for the language, the portal for a customer who chose it, and the acknowledgement email; screenshots at phone,
laptop and wide-screen widths (looked at: nothing clipped, the longer French and Spanish words wrap)."""

from __future__ import annotations

import html

import pytest

from helpdesk.models import Notification, NotificationKind

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": 390, "laptop": 1280, "wide": 1920}
EXPECTED = {
    "fr": {"help": "Comment pouvons-nous vous aider ?", "portal": "Mes demandes", "status": "Nouveau"},
    "es": {"help": "¿En qué podemos ayudarle?", "portal": "Mis solicitudes", "status": "Nuevo"},
}


@pytest.mark.parametrize("language", ["fr", "es"])
def test_customer_side_in_each_language(browser, live_server, customer, make_ticket, screenshot_dir, language):
    # given a customer who chose the language, with one request
    customer.language = language
    customer.save(update_fields=["language"])
    ticket = make_ticket(customer, subject="Wi-fi")
    words = EXPECTED[language]

    # an anonymous visitor whose browser asks for the language reads the help centre in it
    visitor = browser.new_context(base_url=live_server.url, locale=language)
    page = visitor.new_page()
    page.goto("/help/")
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("h1").inner_text() == words["help"]
    for name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=screenshot_dir / f"help-{language}-{name}.png", full_page=True)
    visitor.close()

    # the customer signs in (from an English browser: their own choice wins) and reads the portal in it
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", customer.username)
    page.fill("#id_password", f"pw-{customer.username}")
    page.locator("button[type=submit]").click()
    page.goto("/tickets/")
    assert page.locator("h1").inner_text() == words["portal"]
    assert page.locator("td .status").inner_text() == words["status"]
    page.goto(f"/tickets/{ticket.reference}/")
    for name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=screenshot_dir / f"portal-ticket-{language}-{name}.png", full_page=True)

    # and the acknowledgement email, shown as the customer's mail client would show plain text
    mail = Notification.objects.get(ticket=ticket, recipient=customer, kind=NotificationKind.TICKET_CREATED)
    page = context.new_page()  # a blank page: no site CSP applies to this stand-in for a mail client
    page.set_viewport_size({"width": 700, "height": 400})
    page.set_content(
        f"<main style='font:16px/1.5 sans-serif;padding:1rem'><h3>{html.escape(mail.subject)}</h3>"
        f"<pre style='white-space:pre-wrap;font:inherit'>{html.escape(mail.body)}</pre></main>"
    )
    page.screenshot(path=screenshot_dir / f"email-{language}.png")
    context.close()
