"""Demo articles across the demo categories: public and internal, published and drafts, with reader votes.
Built through the real services; idempotent (nothing happens when articles exist)."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from knowledge_base.models import Article, ArticleStatus, ArticleVisibility
from knowledge_base.services import article_create, article_set_status, article_vote, proposal_create

PUBLIC, INTERNAL = ArticleVisibility.PUBLIC, ArticleVisibility.INTERNAL
PUBLISHED, DRAFT, IN_REVIEW = ArticleStatus.PUBLISHED, ArticleStatus.DRAFT, ArticleStatus.IN_REVIEW

# (category slug, title, tags, visibility, status, body)
ARTICLES = [
    (
        "billing",
        "I was charged twice for the same invoice",
        "duplicate charge, refund, card, payment",
        PUBLIC,
        PUBLISHED,
        """A duplicate charge is almost always a **pending authorisation** that your bank releases within
3–5 business days. Only one payment is actually collected.

1. Open *Billing → Payments* and check the invoice shows **one** payment.
2. If your bank statement still shows two settled charges after 5 business days, reply to your request with
   a screenshot of both lines and we refund the duplicate within 2 business days.

Refunds go back to the card that was charged.""",
    ),
    (
        "billing",
        "Adding your VAT number to invoices",
        "vat, tax, invoice, reclaim",
        PUBLIC,
        PUBLISHED,
        """Go to *Settings → Billing details*, enter your VAT number (with the country prefix, e.g. `GB123456789`)
and save. Every invoice issued **after** that shows the number.

To reissue earlier invoices with the VAT number, open the invoice and choose **Reissue**.""",
    ),
    (
        "billing",
        "Refund policy and how to issue a goodwill credit",
        "refund, credit, goodwill, compensation",
        INTERNAL,
        PUBLISHED,
        """Tier 1 may issue a goodwill credit up to **£50** without approval. Above that, escalate as *Financial*.

- Refunds of duplicate charges: always, once the duplicate has settled.
- Service credits for outages: per the plan's SLA, calculated by the billing team.""",
    ),
    (
        "login-access",
        "Resetting your password",
        "password, reset, forgot, sign in, login",
        PUBLIC,
        PUBLISHED,
        """On the sign-in page choose **Forgot password?** and enter your work email. The reset link is valid for
30 minutes. No email after 5 minutes? Check your spam folder and ask your IT team whether
`no-reply@helpdesk.example` is allowed.""",
    ),
    (
        "login-access",
        "Two-factor authentication codes are rejected",
        "2fa, two-factor, mfa, authenticator, code, clock",
        PUBLIC,
        PUBLISHED,
        """Authenticator codes depend on your phone's clock. If codes are rejected:

1. Turn on *automatic date and time* on your phone.
2. In Google Authenticator, use *Settings → Time correction for codes*.
3. Still rejected? Use one of your **backup codes**, then set up two-factor again.""",
    ),
    (
        "login-access",
        "Unlocking an account locked after failed sign-ins",
        "locked, lockout, account, unlock, sso",
        INTERNAL,
        PUBLISHED,
        """Accounts lock for 15 minutes after 5 failed attempts. Verify the caller's identity (two of: email,
organisation, last invoice number) before unlocking in *Admin → Users → Unlock*.

Never unlock an account for someone who cannot be verified: escalate as *Compliance*.""",
    ),
    (
        "outage",
        "Checking the service status during an outage",
        "status page, outage, downtime, incident, slow",
        PUBLIC,
        PUBLISHED,
        """Our status page at <https://status.helpdesk.example> shows live incidents. Subscribe there to get an
email when an incident starts and ends. If the status page is green but the service is down for you, send us a
request with the time and the error message you saw.""",
    ),
    (
        "outage",
        "Major incident runbook for tier 1",
        "incident, outage, major, runbook, emergency",
        INTERNAL,
        PUBLISHED,
        """When three or more customers report the same outage within 15 minutes:

1. Escalate one ticket as **Emergency** — the manager on call is paged.
2. Link the other tickets in an internal note; do not escalate each one.
3. Reply to customers with the status-page link and *no* estimated fix time until engineering gives one.""",
    ),
    (
        "integrations",
        "Webhooks stopped arriving",
        "webhook, integration, signature, retry, api",
        PUBLIC,
        PUBLISHED,
        """We retry failed webhook deliveries for 24 hours with exponential back-off. If your endpoint answered
errors for longer, deliveries are paused.

- Check that your endpoint answers **2xx within 10 seconds**.
- Verify the `X-Signature` header with your current secret (rotating the secret invalidates old signatures).
- Re-enable deliveries under *Settings → Integrations → Webhooks*.""",
    ),
    (
        "integrations",
        "Connecting your CRM",
        "crm, salesforce, hubspot, connector, sync",
        PUBLIC,
        DRAFT,
        """Draft: step-by-step CRM connection guide for Salesforce and HubSpot. Screenshots still to come.""",
    ),
    (
        "integrations",
        "API rate limits and 429 errors",
        "api, rate limit, 429, throttling",
        PUBLIC,
        PUBLISHED,
        """The API allows **600 requests per minute** per organisation. A `429 Too Many Requests` answer carries a
`Retry-After` header: wait that many seconds before retrying. Batch endpoints count as one request.""",
    ),
    (
        "data-privacy",
        "Requesting a copy of your data (GDPR)",
        "gdpr, data request, subject access, export, privacy",
        PUBLIC,
        PUBLISHED,
        """An administrator of your organisation can export all your data under *Settings → Privacy → Export*.
Individual subject-access requests are answered within one month; send a request in the *Data & privacy* category.""",
    ),
    (
        "data-privacy",
        "Handling a data deletion request",
        "gdpr, erasure, deletion, compliance",
        INTERNAL,
        IN_REVIEW,
        """Deletion requests are restricted tickets: escalate as **Compliance** and do not discuss the content of
the request in public replies. The compliance team confirms identity and completes erasure within 30 days.""",
    ),
    (
        "orders-delivery",
        "Tracking your order",
        "order, tracking, delivery, shipping, courier",
        PUBLIC,
        PUBLISHED,
        """Every shipped order has a tracking link in *Orders → Details*. Tracking updates can take 24 hours to
appear after dispatch. If the courier shows *delivered* but you have nothing, wait until the end of the day, then
send us a request with the order number.""",
    ),
    (
        "orders-delivery",
        "Returning an item",
        "return, refund, exchange, damaged",
        PUBLIC,
        PUBLISHED,
        """Returns are free within 30 days. Start a return under *Orders → Return an item*, print the label and
drop the parcel at any courier point. Refunds are issued within 5 business days of the item arriving.""",
    ),
    (
        "orders-delivery",
        "Courier claims for lost parcels",
        "lost parcel, courier, claim, carrier",
        INTERNAL,
        DRAFT,
        """Open a carrier claim after 5 business days without a tracking update. Use the *Third party* escalation
type so the vendor case reference is tracked.""",
    ),
]


def seed_knowledge_base(*, now, rng, people, stdout=None) -> None:
    """Demo articles, votes and one pending proposal; skipped when the knowledge base already has articles."""
    if Article.objects.exists():
        return
    categories = people["categories"]
    writers = [people["manager"], *people["specialists"]]
    readers = [*people["customers"], *people["agents"]]
    editor = people["manager"]
    created = []
    for index, (slug, title, tags, visibility, status, body) in enumerate(ARTICLES):
        moment = now - timedelta(days=rng.randint(20, 200))
        writer = writers[index % len(writers)]
        with time_machine.travel(moment, tick=False):
            article = article_create(
                actor=writer, title=title, body=body, category=categories[slug], visibility=visibility, tags=tags
            )
            if status in (IN_REVIEW, PUBLISHED):
                article = article_set_status(article=article, actor=writer, status=IN_REVIEW)
            if status == PUBLISHED:
                article = article_set_status(article=article, actor=editor, status=PUBLISHED)
        created.append(article)
    for article in created:
        if article.status != PUBLISHED:
            continue
        for reader in readers:
            if article.visibility == INTERNAL and reader.is_customer:
                continue
            if rng.random() < 0.6:
                # Two articles are deliberately poor, so the health page has something to show.
                poor = article.title in {"Checking the service status during an outage", "Connecting your CRM"}
                article_vote(article=article, user=reader, helpful=rng.random() < (0.3 if poor else 0.85))
    webhooks = next(a for a in created if a.title == "Webhooks stopped arriving")
    proposal_create(
        article=webhooks,
        author=people["agents"][0],
        kind="comment",
        comment="Customers often ask where to find the webhook secret; could we add the exact menu path?",
    )
    if stdout:
        stdout.write(f"  knowledge base: {len(created)} articles")
