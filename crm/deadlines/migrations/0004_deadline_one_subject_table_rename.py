# Exactly one subject per deadline; the table takes this app's name (a rename: rows, ids,
# indexes and the leadevent foreign key stay).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("deadlines", "0003_acceptance_deadlines_to_deals"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="deadline",
            constraint=models.CheckConstraint(
                condition=models.Q(("deal__isnull", True), ("lead__isnull", False))
                | models.Q(("deal__isnull", False), ("lead__isnull", True)),
                name="deadline_one_subject",
            ),
        ),
        migrations.AlterModelTable(name="deadline", table=None),
    ]
