"""SLA models: business calendars, policies per plan x priority, clocks per ticket and target."""

__all__: list[str] = []
