from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RemindersConfig(AppConfig):
    name = "pearl.reminders"
    label = "reminders"
    verbose_name = _("Tasks and notifications")

    def ready(self) -> None:
        from pearl.core import events, handover, profile_panels, sweeps
        from pearl.reminders.profile import customer_tasks
        from pearl.reminders.services import open_task_count, reminders_sweep, tasks_handover
        from pearl.reminders.tasks import on_outbox_queued

        sweeps.register("reminders.due", reminders_sweep)
        events.subscribe("reminders.outbox_queued", on_outbox_queued)
        handover.register("tasks", count_fn=open_task_count, transfer_fn=tasks_handover)
        profile_panels.register(
            "reminders.tasks", read=customer_tasks, template="reminders/_customer-tasks.html", order=30
        )
