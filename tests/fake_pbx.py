"""A scripted phone system for the CTI tests: it signs each call event the way our outgoing webhooks are signed and
POSTs it over real HTTP to the product's telephony endpoint, as a PBX or CCaaS platform would."""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

from helpdesk.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, webhook_signature


class FakePbx:
    def __init__(self, *, base_url: str, secret: str, path: str = "/calls/telephony/events/"):
        self.url = base_url.rstrip("/") + path
        self.secret = secret
        self._ids = itertools.count(1)
        self.sent: list[dict[str, Any]] = []

    def post(self, document: dict[str, Any], *, secret: str | None = None) -> tuple[int, dict[str, Any]]:
        """Send one event document (signed with ``secret``, default the shared one); returns (status, JSON body)."""
        body = json.dumps(document).encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310 - the test server on loopback, http only
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: webhook_signature(
                    secret=self.secret if secret is None else secret, timestamp=timestamp, body=body
                ),
            },
        )
        self.sent.append(document)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def event(self, kind: str, *, call_id: str, at: datetime, **fields: Any) -> dict[str, Any]:
        return {
            "event_id": f"pbx-{next(self._ids)}",
            "type": kind,
            "call_id": call_id,
            "occurred_at": at.isoformat(),
            **fields,
        }

    def send(self, kind: str, *, call_id: str, at: datetime, **fields: Any) -> tuple[int, dict[str, Any]]:
        return self.post(self.event(kind, call_id=call_id, at=at, **fields))
