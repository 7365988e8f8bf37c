from django.db import migrations

# (code, Chinese label, scope, actions) as shipped; admins edit them in 设置 → 角色.
ROLES = [
    ("admin", "管理员", "all", ("create", "edit", "delete", "export", "manage_settings")),
    ("manager", "经理", "subtree", ("create", "edit", "delete", "export")),
    ("sales", "销售", "own", ("create", "edit")),
    ("service", "客服", "team", ("edit",)),
    ("marketing", "市场", "all", ("export",)),
    ("finance", "财务", "all", ("export",)),
]


def create_roles(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for name, label, scope, actions in ROLES:
        Role.objects.get_or_create(
            name=name,
            defaults={"label": label, "data_scope": scope, **{f"can_{a}": True for a in actions}},
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
