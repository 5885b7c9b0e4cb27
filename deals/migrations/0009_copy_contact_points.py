"""Each contact's phone and e-mail become its first contact points; the conversion matches
leads on the points from here on."""

from django.db import migrations

FORWARD = [
    """INSERT INTO deals_contactpoint (contact_id, kind, label, value, ext, raw, position)
       SELECT id, 'phone', 'other', phone, '', '', 0 FROM deals_contact WHERE phone <> ''""",
    """INSERT INTO deals_contactpoint (contact_id, kind, label, value, ext, raw, position)
       SELECT id, 'email', 'other', email, '', '', 0 FROM deals_contact WHERE email <> ''""",
]


class Migration(migrations.Migration):
    dependencies = [("deals", "0008_contact_points")]

    operations = [migrations.RunSQL(FORWARD, "DELETE FROM deals_contactpoint")]
