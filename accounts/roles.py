"""The four roles, as groups with permissions; created by a data migration and kept in step by it."""

from __future__ import annotations

VIEWER, RESPONDER, COMMANDER, ADMIN = "Viewer", "Responder", "Commander", "Admin"
ROLE_NAMES = (VIEWER, RESPONDER, COMMANDER, ADMIN)

_APPS = ("runbooks", "incidents")
_RESPONDER = [("incidents", "add_incident"), ("incidents", "respond_incident"), ("incidents", "run_command")]
_COMMANDER = [("incidents", "command_incident"), ("incidents", "approve_command")]


def ensure_roles(apps, *, migrating: bool = True) -> None:
    """Create or update the groups; safe to run again.

    `apps` is the migration state's registry inside a migration, or the real one (migrating=False), e.g.
    in tests after a transactional test flushed every table.
    """
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    for app_config in apps.get_app_configs():
        if migrating:
            # Migration-state app configs have no models module; create_permissions skips those.
            app_config.models_module = True
            create_permissions(app_config, verbosity=0, apps=apps)
            app_config.models_module = None
        else:
            create_contenttypes(app_config, verbosity=0)
            create_permissions(app_config, verbosity=0)

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ours = Permission.objects.filter(content_type__app_label__in=_APPS)

    def pick(pairs):
        found = []
        for app, codename in pairs:
            found.append(ours.get(content_type__app_label=app, codename=codename))
        return found

    viewer = list(ours.filter(codename__startswith="view_"))
    responder = viewer + pick(_RESPONDER)
    commander = responder + pick(_COMMANDER)
    admin = list(ours)
    for name, perms in ((VIEWER, viewer), (RESPONDER, responder), (COMMANDER, commander), (ADMIN, admin)):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(perms)
