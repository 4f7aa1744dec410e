"""Where a hop goes: ``HopRouter`` reads the active paths, their levels and the teams once, then decides every hop
in memory (the level at a position of the most specific path, "the manager on call", the fallback one tier up), and
``ack_minutes`` is how long a level waits to be accepted. See ``escalations.hops`` for the rules."""

from __future__ import annotations

from collections import defaultdict

from escalations import conf
from escalations.models import EscalationLevel, EscalationMode, EscalationPath, EscalationType, LevelTarget
from escalations.selectors import path_choose
from helpdesk.models import Team, Ticket


class HopRouter:
    """Paths, levels and teams read once (a handful of queries), then every routing decision in memory: the bulk
    sweep and a single escalation route through the same object."""

    def __init__(self) -> None:
        self.paths = list(EscalationPath.objects.filter(is_active=True).prefetch_related("levels__team").order_by("pk"))
        self.paths_by_pk = {path.pk: path for path in self.paths}
        self.levels = {(path.pk, level.position): level for path in self.paths for level in path.levels.all()}
        self.teams = list(Team.objects.order_by("name", "pk"))
        skills = defaultdict(set)
        for team_id, category_id in Team.categories.through.objects.values_list("team_id", "category_id"):
            skills[team_id].add(category_id)
        self.skills = skills

    def path_for(self, ticket: Ticket, escalation_type: str) -> EscalationPath | None:
        return path_choose([p for p in self.paths if p.escalation_type == escalation_type], ticket)

    def level(self, path: EscalationPath | None, position: int) -> EscalationLevel | None:
        return self.levels.get((path.pk, position)) if path is not None else None

    def team_for(self, category_id: int | None, tier: int) -> Team | None:
        """The team of the tier skilled in the category, else the first team of that tier by name."""
        of_tier = [team for team in self.teams if team.tier == tier]
        skilled = [team for team in of_tier if category_id is not None and category_id in self.skills[team.pk]]
        return next(iter(skilled or of_tier), None)

    def manager_on_call(self, ticket: Ticket) -> Team | None:
        """The one rule for "the manager on call": by category skill, falling back to the first tier-3 team."""
        return self.team_for(ticket.category_id, 3)

    def level_team(self, ticket: Ticket, level: EscalationLevel | None) -> Team | None:
        if level is None:
            return None
        if level.target == LevelTarget.MANAGER_ON_CALL:
            return self.manager_on_call(ticket)
        return level.team

    def target(
        self,
        *,
        ticket: Ticket,
        escalation_type: str,
        mode: str,
        position: int,
        above_tier: int,
        chain_path_id: int | None = None,
    ) -> tuple[EscalationPath | None, EscalationLevel | None, Team | None]:
        """Where a hop at ``position`` goes (see the module docstring). A chain keeps its own path while it is
        active and of the same type."""
        path = self.paths_by_pk.get(chain_path_id) if chain_path_id else None
        if path is None or path.escalation_type != escalation_type:
            path = self.path_for(ticket, escalation_type)
        level = self.level(path, position)
        team = self.level_team(ticket, level)
        if team is None:
            tier = 3 if escalation_type in (EscalationType.EMERGENCY, EscalationType.MANAGERIAL) else above_tier + 1
            team = self.team_for(ticket.category_id, min(max(tier, 2), 3))
        must_rise = mode in (EscalationMode.HIERARCHICAL, EscalationMode.AUTOMATIC)
        if team is not None and must_rise and team.tier <= above_tier:
            team = self.team_for(ticket.category_id, above_tier + 1) if above_tier < 3 else None
        return path, level, team


def ack_minutes(level: EscalationLevel | None, *, caller_waiting: bool = False) -> int:
    """The path level's minutes (its caller-waiting minutes, default 2, for a warm transfer); without a level,
    the configured defaults (2 and 30)."""
    if level is not None:
        return level.caller_waiting_minutes if caller_waiting else level.ack_minutes
    name = "ESCALATION_CALLER_WAITING_ACK_MINUTES" if caller_waiting else "ESCALATION_DEFAULT_ACK_MINUTES"
    return int(conf.get(name))
