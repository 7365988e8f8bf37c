from typing import Any

from django.db import migrations


def create_default_pool(apps: Any, schema_editor: Any) -> None:
    Pool = apps.get_model("pools", "Pool")
    # Switched off: on an existing install an active pool would reclaim every customer untouched for 30
    # days on the first night, without warning. An administrator turns it on (the demo does).
    if not Pool.objects.filter(is_default=True).exists():
        Pool.objects.create(name="公海", is_default=True, active=False)


class Migration(migrations.Migration):
    dependencies = [("pools", "0001_initial")]

    operations = [migrations.RunPython(create_default_pool, migrations.RunPython.noop)]
