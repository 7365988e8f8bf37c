"""`pearl import-products FILE`: the same command as `pearl import_products` under the documented name."""

from pearl.sales.management.commands.import_products import Command

__all__ = ["Command"]
