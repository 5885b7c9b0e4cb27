from django.db import migrations

ROLES = ("Qualifier", "Closer", "Sales head")


def create_groups(apps, schema_editor) -> None:
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    """The role groups exist in every installation, not only where demo data was loaded."""

    dependencies = [("teams", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
