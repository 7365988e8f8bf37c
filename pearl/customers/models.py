from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pearl.core.models import VersionedModel
from pearl.core.phones import format_phone
from pearl.customers.choices import (
    ChoiceList,
    CustomerKind,
    CustomerStatus,
    CustomFieldObject,
    CustomFieldType,
    Grade,
    IdentityKind,
)


class ChoiceOption(models.Model):
    list_name = models.CharField(_("list"), max_length=32, choices=ChoiceList.choices)
    label = models.CharField(_("label"), max_length=64)
    order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["list_name", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["list_name", "label"], name="choiceoption_list_label_uniq")]
        verbose_name = _("choice")
        verbose_name_plural = _("choice lists")

    def __str__(self) -> str:
        return self.label


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=32, unique=True)
    color = models.CharField(_("colour"), max_length=7, default="#2f6fde")

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class CustomFieldDefinition(models.Model):
    object_type = models.CharField(_("applies to"), max_length=16, choices=CustomFieldObject.choices)
    key = models.SlugField(_("key"), max_length=50)
    label = models.CharField(_("label"), max_length=64)
    field_type = models.CharField(_("type"), max_length=16, choices=CustomFieldType.choices)
    required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    choices = models.JSONField(_("choices"), default=list, blank=True)

    class Meta:
        ordering = ["object_type", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["object_type", "key"], name="customfield_object_key_uniq")]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")

    def __str__(self) -> str:
        return self.label


# The customer fields a person edits (forms, API, import, merge), in form order; custom fields aside.
CUSTOMER_FIELDS = (
    "kind", "name", "short_name", "customer_type", "industry", "source", "province", "city", "district",
    "address", "grade", "status", "owner", "team",
)  # fmt: skip


class Customer(VersionedModel):
    kind = models.CharField(_("kind"), max_length=16, choices=CustomerKind.choices, default=CustomerKind.COMPANY)
    name = models.CharField(_("full legal name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=100, blank=True)
    name_normalized = models.CharField(max_length=200, editable=False, db_index=True)
    name_pinyin = models.CharField(max_length=400, editable=False, default="")
    customer_type = models.ForeignKey(
        ChoiceOption,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"list_name": ChoiceList.CUSTOMER_TYPE},
        verbose_name=_("customer type"),
    )
    industry = models.ForeignKey(
        ChoiceOption,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"list_name": ChoiceList.INDUSTRY},
        verbose_name=_("industry"),
    )
    source = models.ForeignKey(
        ChoiceOption,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"list_name": ChoiceList.SOURCE},
        verbose_name=_("source channel"),
    )
    province = models.CharField(_("province"), max_length=32, blank=True)
    city = models.CharField(_("city"), max_length=32, blank=True)
    district = models.CharField(_("district"), max_length=32, blank=True)
    address = models.CharField(_("street address"), max_length=200, blank=True)
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=CustomerStatus.choices, default=CustomerStatus.PROSPECT
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("team")
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers", verbose_name=_("tags"))
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    # Normalised name, short name, contact names, pinyin and initials joined by "|": the text a
    # search candidate is checked against after the token index narrowed it down.
    search_blob = models.TextField(editable=False, default="")

    class Meta:
        ordering = ["-id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["owner", "-id"], name="customer_owner_idx"),
            models.Index(fields=["team", "-id"], name="customer_team_idx"),
            models.Index(fields=["province", "city", "district"], name="customer_region_idx"),
            models.Index(fields=["city"], name="customer_city_idx"),
            models.Index(fields=["district", "-id"], name="customer_district_idx"),
            models.Index(fields=["grade", "-id"], name="customer_grade_idx"),
            models.Index(fields=["customer_type", "-id"], name="customer_type_idx"),
            models.Index(fields=["status", "-id"], name="customer_status_idx"),
            models.Index(fields=["name_pinyin"], name="customer_pinyin_idx"),
            models.Index(fields=["-updated_at"], name="customer_updated_idx"),
        ]
        constraints = [
            # The service explains the refusal; this keeps two concurrent creates honest too.
            models.UniqueConstraint(
                fields=["name_normalized"],
                condition=models.Q(kind=CustomerKind.COMPANY),
                name="customer_company_name_uniq",
            ),
        ]

    def __str__(self) -> str:
        return self.short_name or self.name


class Contact(VersionedModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=64)
    mobile = models.CharField(_("mobile / phone"), max_length=16, blank=True)
    email = models.EmailField(_("email"), blank=True)
    wechat = models.CharField(_("WeChat id"), max_length=64, blank=True)
    position = models.ForeignKey(
        ChoiceOption,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"list_name": ChoiceList.POSITION},
        verbose_name=_("position"),
    )
    is_primary = models.BooleanField(_("primary contact"), default=False)
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return self.name

    @property
    def mobile_display(self) -> str:
        return format_phone(self.mobile)


class Identity(models.Model):
    """One way of recognising a customer; (kind, value) is unique so a customer exists once."""

    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    value = models.CharField(max_length=255)
    # db_index=False: the named index below is the only one needed (no duplicate B-tree).
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities", db_index=False)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="identity_kind_value_uniq")]
        indexes = [models.Index(fields=["customer"], name="identity_customer_idx")]
        verbose_name = _("identity")
        verbose_name_plural = _("identities")

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class CustomerSearchToken(models.Model):
    """Inverted index for search: name bigrams, pinyin syllables, initials bigrams, phone tails.

    Kept in step by the customer services in the same transaction as the write.
    """

    pk = models.CompositePrimaryKey("token", "customer")
    token = models.CharField(max_length=32)
    # db_index=False: searchtoken_customer_idx serves the reindex deletes; a second B-tree over ~58
    # rows per customer would only slow writes.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        # (customer, token): reindex deletes, and the per-customer probe of a key range (``jhai…``)
        # is one seek in it. On PostgreSQL the token column compares with the C collation
        # (migration 0005) so key ranges are byte ranges whatever the database's locale.
        indexes = [models.Index(fields=["customer", "token"], name="searchtoken_customer_token_idx")]

    def __str__(self) -> str:
        return self.token


class CustomerMerge(models.Model):
    """One merge of customers into a survivor, with everything needed to undo it.

    ``survivor_id`` is a plain id, not a foreign key: the survivor may itself be merged away later
    (then the id is an alias), and the record must keep naming the customer it was made for.
    ``snapshot`` holds the merged-away customers' rows, their contacts, identities, tags and custom
    fields, the survivor's fields before and after, and which rows each hook moved.
    """

    survivor_id = models.BigIntegerField(_("survivor"), db_index=True)
    merged_ids = models.JSONField(_("merged customers"), default=list)
    rule = models.CharField(_("rule"), max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(_("merged by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("merged at"), auto_now_add=True)
    changes = models.JSONField(_("changed fields"), default=dict)
    snapshot = models.JSONField(default=dict)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")

    def __str__(self) -> str:
        merged = ", ".join(f"#{pk}" for pk in self.merged_ids)
        return f"{merged} → #{self.survivor_id}"


class CustomerAlias(models.Model):
    """The id of a merged-away customer, still answering for the survivor (old links, API clients).

    Chains stay one hop: when the survivor is merged away in turn, its aliases are re-pointed to
    the new survivor by the merge hook, so A→B then B→C makes A resolve to C in one read.
    """

    old_id = models.BigIntegerField(_("old id"), unique=True)
    survivor = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="aliases")
    merge = models.ForeignKey(CustomerMerge, on_delete=models.CASCADE, related_name="aliases")

    class Meta:
        verbose_name = _("customer alias")
        verbose_name_plural = _("customer aliases")

    def __str__(self) -> str:
        return f"#{self.old_id} → #{self.survivor_id}"
