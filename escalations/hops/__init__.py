"""The one hop opener. Every route that moves a ticket to a new team (manual escalate, escalate further, reassign,
the customer's request for a manager, the SLA sweep's breach escalation and its acknowledgement paging) builds
``HopSpec`` items and calls ``escalation_hops_open``; a single escalation is a batch of one, so the bulk sweep and a
one-off click can never drift apart. Callers import from here (``from escalations.hops import HopSpec``).

The rules that decide a hop live in this package once:

- **Where it goes** (``router.HopRouter.target``): the level at that position of the most specific active path for
  the type; without one (no path, or the path has no such level) the fallback is the team skilled in the ticket's
  category one tier up (tier 3 straight away for emergencies and managerial), never at or below the tier it leaves
  for hierarchical and automatic hops. Above tier 3 there is nowhere to go: the top of the path.
- **The manager on call** (``router.HopRouter.manager_on_call``): a level targeting "the manager on call" goes to the
  tier-3 team skilled in the ticket's category, falling back to the first tier-3 team by name. The category rule
  wins over "the first tier-3 team" because a category-skilled manager can act on the problem, not only on the
  complaint, and the fallback keeps such a level working when no tier-3 team lists the category.
- **Who hears of it** (``opener``): the receiving team (leads only when the level says so, or when it says not to
  page the team: someone must always learn of a hop), every manager on call for an emergency; email waits for a
  team's working hours except for emergencies and a caller on the line. The customer is told in the words of
  ``escalations.services.common._customer_words_for_new_hop`` (paging a next level is internal chasing and tells
  nobody).
- **The top of the path** (``paging.escalation_hops_page``): an unaccepted hop with no level above stops waiting,
  and the managers on call are alerted once.
- **The person on call** (``oncall``): when the receiving team has an on-call rota (``escalations.rota``), an
  emergency hop and the top-of-path alert page only the person on call; the sweep pages the backup after
  ``ESCALATION_ONCALL_BACKUP_MINUTES``, then, as long again later, everyone the two rules above would have alerted.
  Accepting stops it; each stage is written once (unique per escalation, cause and stage). Emergency pages never
  wait for working hours.
- **The automatic dossier** (``automatic.automatic_dossiers``): plain sentences written from the ticket, for every
  automatic route; ``automatic.breach_hop_specs`` plans the SLA breach hop with it.
"""

from escalations.hops.automatic import TARGET_WORDS, automatic_dossiers, breach_hop_specs
from escalations.hops.oncall import escalation_oncall_pages_advance, oncall_pages_start
from escalations.hops.opener import Dossier, HopSpec, escalation_hops_open
from escalations.hops.paging import escalation_hops_page
from escalations.hops.router import HopRouter, ack_minutes

__all__ = [
    "TARGET_WORDS",
    "Dossier",
    "HopRouter",
    "HopSpec",
    "ack_minutes",
    "automatic_dossiers",
    "breach_hop_specs",
    "escalation_hops_open",
    "escalation_hops_page",
    "escalation_oncall_pages_advance",
    "oncall_pages_start",
]
