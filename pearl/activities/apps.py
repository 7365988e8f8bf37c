from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "pearl.activities"
    label = "activities"
    verbose_name = _("Activities and timeline")

    def ready(self) -> None:
        # An attachment's files leave the storage after the transaction that deleted its row commits,
        # whoever deleted it: our services, or the cascade of a customer deleted by the customers app
        # (which cannot import this app). See pearl.activities.services.attachments.
        from django.db.models.signals import post_delete

        from pearl.activities.models import Attachment
        from pearl.activities.services.attachments import attachment_row_deleted

        post_delete.connect(attachment_row_deleted, sender=Attachment, dispatch_uid="activities.attachment_files")
