"""Search (issue 16.1): a lead's words as a full-text index, `lead_words` — a `simple` tsvector
of the folded name, company and primary e-mail, and the lead's day and month of arrival as words
of their own (`leads.search.lead_words`, the expression the search filters on), GIN — read by
`word:*` prefix queries, the recent ones with `& ('#9830' | …)` for their days (or months): one
posting list per word instead of one per trigram. It replaces the trigram index on the same text
(`lead_search_trgm`, 0021), which nothing reads any more, so intake keeps one index of the
lead's text, not two. PostgreSQL only, built and dropped concurrently (intake goes on
meanwhile); no column, so no write path has anything to keep up to date."""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations

from crm.lib.postgres_ops import AddIndexOnPostgres, RemoveIndexOnPostgres
from leads.search import lead_text, lead_words


class Migration(migrations.Migration):
    atomic = False  # CREATE / DROP INDEX CONCURRENTLY

    dependencies = [("leads", "0022_mailbox_and_letters")]

    operations = [
        AddIndexOnPostgres("lead", GinIndex(lead_words(), name="lead_words")),
        RemoveIndexOnPostgres(
            "lead",
            GinIndex(OpClass(lead_text(), name="gin_trgm_ops"), name="lead_search_trgm"),
        ),
    ]
