"""Single sign-on in a real browser: the sign-in page's button, through the loopback provider and back, signed in."""

from __future__ import annotations

import pytest

from helpdesk.models import Role, User
from tests.oidc_provider import OidcProvider

WIDTHS = {1280: 800, 1920: 1080, 390: 844}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_manager_signs_in_with_single_sign_on(live_server, browser, screenshot_dir, settings, teams):
    with OidcProvider(client_id="helpdesk-web", client_secret="client-s3cret") as provider:
        # given SSO on, and a person in the managers group signed in at the provider
        settings.OIDC_ENABLED = True
        settings.OIDC_ISSUER = provider.issuer
        settings.OIDC_RP_CLIENT_ID = "helpdesk-web"
        settings.OIDC_RP_CLIENT_SECRET = "client-s3cret"
        settings.OIDC_GROUP_MAP = "helpdesk-managers=manager:Managers"
        provider.add_user("idp-mo", groups=["helpdesk-managers"], email="mo@corp.test", given_name="Mo")
        provider.signed_in = "idp-mo"

        for width, height in WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.goto(f"{live_server.url}/login/")
            page.screenshot(path=screenshot_dir / f"login-{width}.png", full_page=True)

            # when they press the single sign-on button
            page.get_by_role("link", name="Sign in with single sign-on").click()
            page.wait_for_load_state()

            # then they are back on the helpdesk, signed in as a manager
            assert page.url.startswith(live_server.url)
            assert page.get_by_role("link", name="Sign in with single sign-on").count() == 0
            assert "/login/" not in page.url
            page.screenshot(path=screenshot_dir / f"signed-in-{width}.png")
            context.close()

    user = User.objects.get(sso_identity__subject="idp-mo")
    assert user.role == Role.MANAGER and set(user.teams.values_list("name", flat=True)) == {"Managers"}
