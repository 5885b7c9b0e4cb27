"""Every lead's phone (with its extension), second phone and e-mail become its contact points,
the primary ones at position 0: duplicates are matched on the points from here on. A lead
with a second phone and no first one gets the second as its phone. Its own migration:
PostgreSQL will not alter a table in the transaction whose rows still have pending foreign
key checks, and 0014 drops `phone2` after this has read it."""

from django.db import migrations

FORWARD = [
    "UPDATE leads_lead SET phone = phone2, phone2 = '' WHERE phone = '' AND phone2 <> ''",
    """INSERT INTO leads_leadcontactpoint (lead_id, kind, label, value, ext, raw, position)
       SELECT id, 'phone', 'other', phone, phone_ext, '', 0 FROM leads_lead WHERE phone <> ''""",
    """INSERT INTO leads_leadcontactpoint (lead_id, kind, label, value, ext, raw, position)
       SELECT id, 'phone', 'other', phone2, '', '', 1 FROM leads_lead
       WHERE phone2 <> '' AND phone2 <> phone""",
    """INSERT INTO leads_leadcontactpoint (lead_id, kind, label, value, ext, raw, position)
       SELECT id, 'email', 'other', email, '', '', 0 FROM leads_lead WHERE email <> ''""",
]
# Back: the second phone returns to its column; the points go with 0012.
BACKWARD = [
    """UPDATE leads_lead SET phone2 = COALESCE((
         SELECT value FROM leads_leadcontactpoint p
         WHERE p.lead_id = leads_lead.id AND p.kind = 'phone' AND p.value <> leads_lead.phone
         ORDER BY p.position, p.id LIMIT 1), '')""",
    "DELETE FROM leads_leadcontactpoint",
]


class Migration(migrations.Migration):
    dependencies = [("leads", "0015_lead_contact_points")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
