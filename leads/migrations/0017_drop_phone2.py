"""`phone2` is one of the lead's contact points now (0013 copied it); duplicates are matched
on the points' own index, so the lead's phone and e-mail indexes go too."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("leads", "0016_copy_contact_points")]

    operations = [
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_phone',
        ),
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_email',
        ),
        migrations.RemoveField(
            model_name='lead',
            name='phone2',
        ),
    ]
