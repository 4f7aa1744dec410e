"""Who may call what. Visibility of tickets is not decided here but by ``helpdesk.selectors``."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsStaffMember(BasePermission):
    message = "Only staff can do this."

    def has_permission(self, request, view):
        return bool(request.user.is_authenticated and request.user.is_staff_member)


class IsAdminOrStaffReadOnly(BasePermission):
    """Staff read; only administrators write (teams, SLA policies)."""

    message = "Only administrators can change this; staff can read it."

    def has_permission(self, request, view):
        user = request.user
        if not (user.is_authenticated and user.is_staff_member):
            return False
        return request.method in SAFE_METHODS or user.is_admin
