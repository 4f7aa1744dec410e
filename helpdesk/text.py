"""Text that must stay on one line: ticket subjects, people's names, and every email subject built from them.

An encoded email subject (``=?utf-8?q?Hi=0D=0ABcc=3A_x=40evil?=``) decodes to CR/LF; a web or API form keeps the
line breaks inside a value. Stored as is, such a subject breaks every email about the ticket (an email header may
not contain a line break) and shows up wrongly in queues. ``single_line`` is the one rule: the models and services
that store subjects and names call it, and the outbox calls it again when it builds an email, so a row written
before this rule still sends.
"""

from __future__ import annotations

import re

# Whitespace of any kind (tabs, CR, LF, vertical tab, form feed, NEL, U+2028/U+2029, no-break spaces...) and every
# other C0/C1 control character; a run of them becomes one space.
_BREAKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")


def single_line(text: str | None) -> str:
    """``text`` with every run of whitespace or control characters replaced by one space, trimmed."""
    return _BREAKS.sub(" ", text or "").strip()
