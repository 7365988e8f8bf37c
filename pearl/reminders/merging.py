"""A merged-away customer's tasks move to the survivor, and back on unmerge."""

from pearl.core import merging

# Not strict: a task deleted since is simply not there to move back.
merging.register_fk("reminders.Task", "customer", strict=False)
