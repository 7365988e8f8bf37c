from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from pearl.accounts.models import User
from pearl.accounts.services import token_create
from pearl.core.context import Channel, acting_through


class Command(BaseCommand):
    help = "Print a new API token for a user (the secret is shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="a label to recognise the token by")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(
                _("No user named %(name)s. / 没有名为 %(name)s 的用户。") % {"name": options["username"]}
            )
        if not user.is_active:
            raise CommandError(_("User %(name)s is deactivated. / 用户 %(name)s 已停用。") % {"name": user.username})
        with acting_through(Channel.COMMAND):
            _token, secret = token_create(actor=None, user=user, name=options["name"])
        self.stdout.write(secret)
