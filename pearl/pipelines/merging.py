"""Opportunities follow a customer merge (see ``pearl.core.merging``)."""

from pearl.core import merging

merging.register_fk("pipelines.Opportunity", "customer")
