from django.db import models
from django.utils.translation import gettext_lazy as _


class DataScope(models.TextChoices):
    OWN = "own", _("Own records")
    TEAM = "team", _("Own team")
    SUBTREE = "subtree", _("Team and sub-teams")
    ALL = "all", _("All records")


class Action(models.TextChoices):
    CREATE = "create", _("Create")
    EDIT = "edit", _("Edit")
    DELETE = "delete", _("Delete")
    EXPORT = "export", _("Export")
    MANAGE_SETTINGS = "manage_settings", _("Manage settings")


class RoleName(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    MANAGER = "manager", _("Manager")
    SALES = "sales", _("Sales")
    SERVICE = "service", _("Service")
    MARKETING = "marketing", _("Marketing")
    FINANCE = "finance", _("Finance")


# The roles every new installation starts with: (scope, actions). Admins can change them later.
DEFAULT_ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    RoleName.ADMIN: (DataScope.ALL, tuple(Action.values)),
    RoleName.MANAGER: (DataScope.SUBTREE, (Action.CREATE, Action.EDIT, Action.DELETE, Action.EXPORT)),
    RoleName.SALES: (DataScope.OWN, (Action.CREATE, Action.EDIT)),
    RoleName.SERVICE: (DataScope.TEAM, (Action.EDIT,)),
    RoleName.MARKETING: (DataScope.ALL, (Action.EXPORT,)),
    RoleName.FINANCE: (DataScope.ALL, (Action.EXPORT,)),
}
