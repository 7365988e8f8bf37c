from typing import Any

from django.db import migrations


def create_default_pool(apps: Any, schema_editor: Any) -> None:
    Pool = apps.get_model("pools", "Pool")
    if not Pool.objects.filter(is_default=True).exists():
        Pool.objects.create(name="公海", is_default=True)


class Migration(migrations.Migration):
    dependencies = [("pools", "0001_initial")]

    operations = [migrations.RunPython(create_default_pool, migrations.RunPython.noop)]
