"""A merged-away customer's timeline moves to the survivor, and back on unmerge."""

from pearl.core import merging

# Not strict: an event whose record was deleted since is simply not there to move back.
merging.register_fk("activities.TimelineEvent", "customer", strict=False)
merging.register_fk("activities.Communication", "customer", strict=False)
merging.register_fk("activities.Complaint", "customer", strict=False)
merging.register_fk("activities.Attachment", "customer", strict=False)
