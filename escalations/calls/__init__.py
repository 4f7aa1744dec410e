"""Calls, warm transfers and callbacks: the phone side of escalation. It builds on the escalations core (a warm
transfer is an escalation with a caller waiting); the core never imports it."""
