"""The SLA engine: business calendars, the pure clock state machine (``clock``), the live engine and its sweep
(``engine``), selectors, the beat task and the admin. It builds on the escalations core (the hop opener); the core
never imports it."""
