"""TOTP codes for tests, computed the way an authenticator app does (RFC 6238, 30-second steps, 6 digits)."""

from __future__ import annotations

import base64
import time

from django_otp.oath import TOTP


def totp_code(secret: str | bytes, *, after_step: int | None = None) -> str:
    """The code for now, or, when ``after_step`` (the last step the server accepted) is given, for the first step
    the server will still accept: a code is refused twice, so a second sign-in in the same 30 seconds uses the next
    step's code (the server allows one step of clock drift)."""
    key = base64.b32decode(secret) if isinstance(secret, str) else secret
    totp = TOTP(key)
    totp.time = time.time()
    if after_step is not None and totp.t() <= after_step:
        totp.time = (after_step + 1) * 30
    return f"{totp.token():06d}"
