"""People and who they belong to: roles and tiers, users, customer organisations on their plans, problem categories,
teams and their members, and sign-in records (API tokens, failed sign-ins)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.text import single_line


class Role(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent (tier 1)")
    SPECIALIST = "specialist", _("Specialist (tier 2)")
    MANAGER = "manager", _("Manager (tier 3)")
    ADMIN = "admin", _("Administrator")


STAFF_ROLES = frozenset({Role.AGENT, Role.SPECIALIST, Role.MANAGER, Role.ADMIN})
TIER3_ROLES = frozenset({Role.MANAGER, Role.ADMIN})
ROLE_TIER: dict[str, int] = {Role.AGENT: 1, Role.SPECIALIST: 2, Role.MANAGER: 3, Role.ADMIN: 3}


class Tier(models.IntegerChoices):
    AGENT = 1, _("Tier 1 (agents)")
    SPECIALIST = 2, _("Tier 2 (specialists)")
    EXECUTIVE = 3, _("Tier 3 (managers)")


class Plan(models.Model):
    """A customer organisation's service plan (Basic, Pro, Enterprise)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    rank = models.PositiveSmallIntegerField(default=0, help_text="Higher ranks are the more generous plans.")
    description = models.TextField(blank=True)
    promise = models.CharField(
        max_length=200, blank=True, help_text="The plan's promise in plain words, shown to customers."
    )
    reopen_window_days = models.PositiveSmallIntegerField(
        default=14,
        help_text="Days after a request is resolved during which the customer's reply reopens it, even once it is "
        "closed; after that the customer opens a new request.",
    )
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Days after a ticket is closed before the retention sweep anonymises its personal data (subject, "
        "messages, attachments, survey comments, call notes). Empty: kept until the customer asks for erasure.",
    )

    class Meta:
        ordering = ["rank", "name"]

    def __str__(self) -> str:
        return self.name


class Organization(models.Model):
    """A customer company."""

    name = models.CharField(max_length=160, unique=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="organizations")
    _sla_old_plan_id: int | None  # not a column: read before a save by escalations' plan-change signal
    email_domain = models.CharField(max_length=120, blank=True, db_index=True)
    timezone = models.CharField(max_length=64, default="Europe/London")
    phone = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """Everyone who signs in: customers and staff. The role decides the screens and the tier."""

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CUSTOMER, db_index=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="contacts"
    )
    phone = models.CharField(max_length=40, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    language = models.CharField(
        max_length=10, blank=True, help_text="Blank: the browser's language. One of settings.LANGUAGES otherwise."
    )
    is_available = models.BooleanField(default=True, help_text="Away agents receive no automatic assignments.")

    class Meta:
        ordering = ["first_name", "last_name", "username"]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs):
        # Names reach email subjects and one-line screens: one line, whatever the entry point (helpdesk.text).
        for name in ("first_name", "last_name"):
            if name in self.__dict__:  # not deferred
                setattr(self, name, single_line(self.__dict__[name]))
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    # --- role predicates: the one home of "who may" -------------------------------------------------------------
    # Every role check in views, APIs, templates, services, selectors and the navigation reads these properties;
    # nothing else compares ``role`` or ``is_superuser``. The rules:
    # - a superuser is an administrator everywhere, whatever their ``role`` field says (``effective_role``);
    # - ``is_customer`` / ``is_staff_member`` / ``tier`` say who the person is (they also describe past actors);
    # - the capability predicates (``is_admin``, ``is_manager``, ``can_*`` ...) are False for an inactive user, as
    #   Django's ``has_perm`` is: a deactivated account holds no powers.

    @property
    def effective_role(self) -> str:
        """The role the predicates read: ``admin`` for a superuser, else ``role``."""
        return Role.ADMIN if self.is_superuser else self.role

    @property
    def is_customer(self) -> bool:
        return self.effective_role == Role.CUSTOMER

    @property
    def is_staff_member(self) -> bool:
        return self.effective_role in STAFF_ROLES

    @property
    def tier(self) -> int | None:
        return ROLE_TIER.get(self.effective_role)

    @property
    def is_agent(self) -> bool:
        """Tier 1 (frontline)."""
        return self.is_active and self.effective_role == Role.AGENT

    @property
    def is_specialist(self) -> bool:
        """Tier 2."""
        return self.is_active and self.effective_role == Role.SPECIALIST

    @property
    def is_manager(self) -> bool:
        """Tier 3: managers and administrators (superusers included)."""
        return self.is_active and self.effective_role in TIER3_ROLES

    is_tier3 = is_manager

    @property
    def is_admin(self) -> bool:
        """Administrators and superusers: configuration (SLA policies, teams, drafts applied to live policies)."""
        return self.is_active and self.effective_role == Role.ADMIN

    @property
    def can_coach(self) -> bool:
        """Records coaching sessions, reads the analytics, reviews RCAs and every follow-up."""
        return self.is_manager

    @property
    def can_edit_kb(self) -> bool:
        """Edits, publishes and retires any knowledge-base article (staff may edit the articles they own)."""
        return self.is_manager

    @staticmethod
    def tier3_q(prefix: str = "") -> Q:
        """``is_manager`` as a ``Q`` on User (active managers, admins and superusers), for querysets."""
        role = Q(**{f"{prefix}role__in": TIER3_ROLES}) | Q(**{f"{prefix}is_superuser": True})
        return Q(**{f"{prefix}is_active": True}) & role


class Category(models.Model):
    """A problem category (billing, login, outage ...), shared by tickets, teams and KB articles."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.CharField(max_length=240, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class AssignmentRule(models.TextChoices):
    MANUAL = "manual", _("Manual")
    ROUND_ROBIN = "round_robin", _("Round robin")
    LEAST_LOADED = "least_loaded", _("Least loaded (fewest open tickets)")


class Team(models.Model):
    """A team of a tier, skilled in a set of categories."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.AGENT)
    categories = models.ManyToManyField(Category, blank=True, related_name="teams")
    members = models.ManyToManyField(User, through="TeamMembership", related_name="teams", blank=True)
    assignment_rule = models.CharField(max_length=20, choices=AssignmentRule.choices, default=AssignmentRule.MANUAL)
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["tier", "name"]

    def __str__(self) -> str:
        return f"{self.name} (tier {self.tier})"


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    is_lead = models.BooleanField(default=False)
    last_assigned_at = models.DateTimeField(null=True, blank=True, help_text="Used by round-robin assignment.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="unique_team_member")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 digest is stored; the token itself is shown once, at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise the token in lists.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    read_only = models.BooleanField(
        default=False, help_text="A read-only token may only read (GET, HEAD, OPTIONS); any change is refused with 403."
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class LoginFailure(models.Model):
    """One row per username counting consecutive failed sign-ins; updated under a row lock so that a parallel burst
    of guesses cannot get past the lockout."""

    username = models.CharField(max_length=150, unique=True)
    failures = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.username}: {self.failures}"


class SsoIdentity(models.Model):
    """The link between a staff account and one person at the single sign-on provider: the provider's ``issuer`` and
    its stable ``subject`` (the ID token's ``sub``). Accounts are matched on this pair, never on the email address,
    which a provider may let people change."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="sso_identity")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "single sign-on identity"
        verbose_name_plural = "single sign-on identities"
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="unique_sso_identity")]

    def __str__(self) -> str:
        return f"{self.user} at {self.issuer}"
