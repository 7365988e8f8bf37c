from django.db import migrations

# (name, win probability, kind): kept here as shipped, so later edits to the app's constants
# do not change what this migration did.
STAGES = [
    ("新线索", 10, "open"),
    ("初步沟通", 20, "open"),
    ("需求确认", 40, "open"),
    ("方案报价", 60, "open"),
    ("商务谈判", 80, "open"),
    ("赢单", 100, "won"),
    ("输单", 0, "lost"),
]


def create_default_pipeline(apps, schema_editor):
    """The default pipeline and its stages; idempotent (tests after a flush call it again)."""
    Pipeline = apps.get_model("pipelines", "Pipeline")
    Stage = apps.get_model("pipelines", "Stage")
    pipeline = Pipeline.objects.filter(is_default=True).first()
    if pipeline is None:
        pipeline, _ = Pipeline.objects.get_or_create(name="销售流程", defaults={"is_default": True, "order": 0})
    for index, (name, probability, kind) in enumerate(STAGES):
        Stage.objects.get_or_create(
            pipeline=pipeline, name=name, defaults={"order": (index + 1) * 10, "probability": probability, "kind": kind}
        )


class Migration(migrations.Migration):
    dependencies = [("pipelines", "0001_initial")]
    operations = [migrations.RunPython(create_default_pipeline, migrations.RunPython.noop)]
