"""The embed snippet: embed.js (its allowlist), the widget page (its CSP frame-ancestors, the server's Origin/Referer
check, who can chat in it), the snippet page for managers and admins, the customer's expected wait, and the help
centre's chat entry point."""

from __future__ import annotations

import json
import re

import pytest
from django.test import override_settings
from django.utils import translation

from chat.embed import embed_allowed_origins, origin_of

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example.com"


def _frame_ancestors(response) -> str:
    header = response["Content-Security-Policy"]
    return next(part.strip() for part in header.split(";") if part.strip().startswith("frame-ancestors"))


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Shop.Example.com/path?q=1", "https://shop.example.com"),
        ("https://shop.example.com:443/", "https://shop.example.com"),
        ("http://127.0.0.1:8123/page.html", "http://127.0.0.1:8123"),
        ("javascript:alert(1)", None),
        ("not a url", None),
        ("https://[::1]:99999/", None),
    ],
)
def test_origins_are_normalised_and_anything_else_is_no_origin(url, origin):
    assert origin_of(url) == origin


@override_settings(CHAT_EMBED_ALLOWED_ORIGINS=[SHOP, "ftp://files.example.com", "https://shop.example.com/"])
def test_embed_js_carries_the_allowlist_and_the_widget_address(client):
    response = client.get("/chat/embed.js")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    body = response.content.decode()
    config = json.loads(re.search(r"var config = (\{.*?\});", body).group(1))
    assert config == {"widget": "http://testserver/chat/widget/", "self": "http://testserver", "origins": [SHOP]}
    assert embed_allowed_origins() == [SHOP]


def test_the_widget_may_be_framed_only_by_our_origin_by_default(client):
    response = client.get("/chat/widget/")

    assert response.status_code == 200
    assert _frame_ancestors(response) == "frame-ancestors 'self'"
    assert "X-Frame-Options" not in response
    # the rest of the policy is the site's own strict one
    assert "script-src 'self' 'nonce-" in response["Content-Security-Policy"]


@override_settings(CHAT_EMBED_ALLOWED_ORIGINS=[SHOP, "http://127.0.0.1:8123"])
def test_an_allowed_site_may_frame_the_widget_and_another_is_refused(client):
    # when an allowed site frames the widget (the browser sends its origin as the Referer), then it loads
    allowed = client.get("/chat/widget/", {"origin": SHOP}, headers={"referer": SHOP + "/"})
    assert allowed.status_code == 200
    assert _frame_ancestors(allowed) == "frame-ancestors 'self' http://127.0.0.1:8123 https://shop.example.com"

    # when another site does, by its Referer or (without one) by the origin the script passed, then 403
    for headers, params in [
        ({"referer": "https://evil.example.net/page"}, {"origin": SHOP}),
        ({}, {"origin": "https://evil.example.net"}),
    ]:
        refused = client.get("/chat/widget/", params, headers=headers)
        assert refused.status_code == 403
        assert "This site may not embed our chat." in refused.content.decode()
        assert _frame_ancestors(refused).startswith("frame-ancestors 'self'")


def test_a_signed_out_visitor_is_offered_sign_in_in_a_new_window(client):
    page = client.get("/chat/widget/").content.decode()

    assert "Sign in to chat with an agent." in page
    assert 'href="/login/?next=/chat/" target="_blank"' in page
    assert client.post("/chat/widget/", {"body": "hi"}).status_code == 403


@override_settings(CHAT_EMBED_ALLOWED_ORIGINS=[SHOP])
def test_a_signed_in_customer_chats_in_the_widget_and_ending_it_stays_in_the_widget(login, customer, categories):
    client = login(customer)

    # when they start a chat in the widget framed by the shop
    started = client.post(
        f"/chat/widget/?origin={SHOP}", {"category": categories["billing"].pk, "body": "Hello from the shop"}
    )
    # then they stay in the widget, and see the chat with the estimate's fallback (no history yet)
    assert started.status_code == 302 and started["Location"] == "/chat/widget/?origin=https%3A%2F%2Fshop.example.com"
    page = client.get(started["Location"]).content.decode()
    assert "Hello from the shop" in page
    assert "Expected wait: a few minutes. This is an estimate from recent chats and can change." in page
    session = customer.chat_sessions.get()

    # when they end it from the widget, then they are back in the widget
    ended = client.post(f"/chat/{session.pk}/end/", {"from": "widget", "origin": SHOP})
    assert ended["Location"] == "/chat/widget/?origin=https%3A%2F%2Fshop.example.com"


def test_the_customer_page_shows_an_estimate_from_recent_chats(login, customer, customer2, agent, start_chat):
    from datetime import UTC, datetime, timedelta

    import time_machine

    from chat.services import chat_accept, chat_end

    # given one chat of the queue accepted after 5 minutes, and two free agents
    with time_machine.travel(datetime(2026, 11, 23, 10, tzinfo=UTC), tick=False):
        earlier = start_chat(customer2, category="outage")
    with time_machine.travel(datetime(2026, 11, 23, 10, tzinfo=UTC) + timedelta(minutes=5), tick=False):
        chat_accept(session=earlier, agent=agent)
        chat_end(session=earlier, actor=agent)
    start_chat(customer, category="outage")

    # then the customer, first in the queue, reads 5 min x 1 / 1 free agent (the fixture's agent only)
    page = login(customer).get("/chat/").content.decode()
    assert "Expected wait: about 5 minutes. This is an estimate from recent chats and can change." in page


def test_the_snippet_page_is_for_managers_and_admins(login, manager, admin_user, agent):
    for user in (manager, admin_user):
        page = login(user).get("/chat/embed/")
        assert page.status_code == 200
        assert (
            "&lt;script src=&quot;http://testserver/chat/embed.js&quot; data-label=&quot;Chat with us&quot; async"
            in page.content.decode()
        )
    assert login(agent).get("/chat/embed/").status_code == 403


def test_the_help_centre_offers_chat(client):
    page = client.get("/help/").content.decode()
    assert 'href="/chat/guest/">Chat with us</a>' in page


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("fr", "Attente estimée : quelques minutes. C’est une estimation fondée sur les discussions récentes"),
        ("es", "Espera estimada: unos minutos. Es una estimación basada en los chats recientes y puede cambiar."),
    ],
)
def test_the_wait_estimate_reads_in_the_customers_language(login, customer, start_chat, language, words):
    customer.language = language
    customer.save(update_fields=["language"])
    start_chat(customer)
    # the page activates the customer's language for this thread: put English back for the tests that follow
    with translation.override("en-gb"):
        page = login(customer).get("/chat/").content.decode()
    assert words in page
