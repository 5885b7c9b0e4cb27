# Written by hand: the data step between adding the team columns (0005) and the per-team
# unique constraints (0007). Each is its own migration because on PostgreSQL an index cannot be
# built in the transaction that updated the rows (pending deferred foreign-key checks).

from django.db import migrations


def split_shared_contacts(apps, schema_editor):
    """Contacts and companies several sales teams shared become one per team (deals keep
    their links); the logic and its rules are in deals/contact_split.py, tested directly."""
    from deals.contact_split import split_by_team

    split_by_team(
        apps.get_model("deals", "Contact"),
        apps.get_model("deals", "Company"),
        apps.get_model("deals", "Deal"),
    )


class Migration(migrations.Migration):

    dependencies = [
        ('deals', '0005_contacts_per_team'),
    ]

    operations = [
        # Going back needs no step: the per-team rows stay (0005's reverse then fails to bring
        # back the global constraints while two teams hold one phone: one-way in practice).
        migrations.RunPython(split_shared_contacts, migrations.RunPython.noop),
    ]
