"""Search index without one-syllable and two-initial tokens (now key ranges over longer tokens).

The (customer, token) index serves the per-customer range probe; PostgreSQL compares tokens with
the C collation so a range is a byte range in any locale; every customer's tokens are rebuilt
with the current ``document``.
"""

from django.db import migrations, models

BATCH = 2000


def c_collation(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name("customers_customersearchtoken")
        schema_editor.execute(f'ALTER TABLE {table} ALTER COLUMN token TYPE varchar(32) COLLATE "C"')


def sqlite_without_rowid(apps, schema_editor):
    """SQLite: keep the token table as its (token, customer) key alone (WITHOUT ROWID).

    A rowid table would store every token twice (the rows, and the key as an index): half the
    size, and a fifth less work per token written. Django's table remake on a later AlterField
    would drop the clause; test_search.test_sqlite_token_table_is_without_rowid catches that.
    """
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    table = "customers_customersearchtoken"
    with connection.cursor() as cursor:
        cursor.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL", [table])
        found = cursor.fetchall()
    create = next(sql for kind, _name, sql in found if kind == "table")
    if "WITHOUT ROWID" in create.upper():
        return
    indexes = [sql for kind, _name, sql in found if kind == "index"]
    new = table + "__new"
    schema_editor.execute(create.replace(f'"{table}"', f'"{new}"', 1) + " WITHOUT ROWID")
    schema_editor.execute(f'INSERT INTO "{new}" ("token", "customer_id") SELECT "token", "customer_id" FROM "{table}"')
    schema_editor.execute(f'DROP TABLE "{table}"')
    schema_editor.execute(f'ALTER TABLE "{new}" RENAME TO "{table}"')
    for sql in indexes:
        schema_editor.execute(sql)


def rebuild(apps, schema_editor):
    from pearl.customers.search import document  # the tokens the services write from now on

    Customer = apps.get_model("customers", "Customer")
    Contact = apps.get_model("customers", "Contact")
    Token = apps.get_model("customers", "CustomerSearchToken")
    last = 0
    while True:
        rows = list(Customer.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "name", "short_name")[:BATCH])
        if not rows:
            return
        ids = [r[0] for r in rows]
        people: dict[int, list[tuple[str, str]]] = {}
        for customer_id, name, mobile in Contact.objects.filter(customer_id__in=ids).values_list(
            "customer_id", "name", "mobile"
        ):
            people.setdefault(customer_id, []).append((name, mobile))
        Token.objects.filter(customer_id__in=ids).delete()
        new = []
        for pk, name, short_name in rows:
            contacts = people.get(pk, [])
            tokens, _blob, _pinyin = document([name, short_name] + [c[0] for c in contacts], [c[1] for c in contacts])
            new += [Token(token=t, customer_id=pk) for t in tokens]
        Token.objects.bulk_create(new, batch_size=5000)
        last = ids[-1]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_merge"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="customersearchtoken", name="searchtoken_customer_idx"),
        migrations.AddIndex(
            model_name="customersearchtoken",
            index=models.Index(fields=["customer", "token"], name="searchtoken_customer_token_idx"),
        ),
        migrations.RunPython(c_collation, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(sqlite_without_rowid, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(rebuild, migrations.RunPython.noop, elidable=True),
    ]
