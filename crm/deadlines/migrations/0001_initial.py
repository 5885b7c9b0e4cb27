# The Deadline model moves here from leads without touching the database: the state is created
# here over the existing table leads_deadline (its rows and indexes as they are), and
# leads.0012 drops it from the leads state. 0002 then changes the table itself.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("leads", "0013_criterion_option_archived"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Deadline",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("kind", models.CharField(max_length=20, verbose_name="kind")),
                        ("due_at", models.DateTimeField(verbose_name="due at")),
                        (
                            "raised_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="raised at"),
                        ),
                        (
                            "cancelled_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="cancelled at"),
                        ),
                        (
                            "lead",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="deadlines",
                                to="leads.lead",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "deadline",
                        "verbose_name_plural": "deadlines",
                        "db_table": "leads_deadline",
                        "indexes": [
                            models.Index(
                                condition=models.Q(("cancelled_at", None), ("raised_at", None)),
                                fields=["due_at"],
                                name="deadline_pending",
                            ),
                            models.Index(
                                condition=models.Q(("kind", "breach"), ("raised_at__isnull", False)),
                                fields=["due_at", "lead", "id"],
                                name="deadline_breach_raised",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
