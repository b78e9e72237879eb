"""Admin building blocks any app can use."""

from __future__ import annotations


class ReadOnlyAdminMixin:
    """For records the console writes itself (the timeline, command runs, imported documents): admins list and
    read them; nobody adds or changes one here. The admin then shows each record with every field read-only.

    `deletable = True` leaves an admin the Delete button (for records that may be removed but not edited).
    """

    deletable = False

    def has_add_permission(self, request, obj=None) -> bool:  # obj: inlines ask with the parent
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)
