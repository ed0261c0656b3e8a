"""Each ticket's tag ids in an array column with a GIN index, kept by a trigger (Postgres only).

A view filtered by status and tag (and its sidebar count) intersects two large sets: at a million
tickets, 70,000 open tickets and 36,000 tagged "refund". Through the link table that is one probe
per open ticket (a capped count: 28,000 probes, ~40 ms); with the ids on the ticket row it is a
check of the row being read, or a bitmap of the GIN index. The trigger on the link table keeps
the array right whatever writes the tags (services, bulk actions, merges, the admin), and its
array_append / array_remove re-run on the newest row version, so concurrent changes of one
ticket's tags keep each other's. The column is not a model field: Django never writes it, and
the embedded profile (SQLite) filters through the link table as before.
"""

from django.db import migrations

from core.postgres_sql import postgres_only

FORWARD = [
    "ALTER TABLE tickets_ticket ADD COLUMN tag_ids bigint[] NOT NULL DEFAULT '{}'",
    """UPDATE tickets_ticket t SET tag_ids = s.ids
  FROM (SELECT ticket_id, array_agg(tag_id ORDER BY tag_id) AS ids
        FROM tickets_ticket_tags GROUP BY ticket_id) s
 WHERE s.ticket_id = t.id""",
    "CREATE INDEX ticket_tag_ids ON tickets_ticket USING gin (tag_ids)",
    """CREATE FUNCTION tickets_ticket_tag_ids() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE tickets_ticket SET tag_ids = array_remove(tag_ids, OLD.tag_id) WHERE id = OLD.ticket_id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    UPDATE tickets_ticket SET tag_ids = array_append(array_remove(tag_ids, NEW.tag_id), NEW.tag_id)
     WHERE id = NEW.ticket_id;
  END IF;
  RETURN NULL;
END $$""",
    """CREATE TRIGGER tickets_ticket_tags_sync AFTER INSERT OR UPDATE OR DELETE ON tickets_ticket_tags
  FOR EACH ROW EXECUTE FUNCTION tickets_ticket_tag_ids()""",
    # The planner chooses a tag filter's plan from the array's statistics: without them (until
    # autovacuum came by) a tag page at 1M tickets took 63 ms instead of a few.
    "ANALYZE tickets_ticket",
]

BACKWARD = [
    "DROP TRIGGER tickets_ticket_tags_sync ON tickets_ticket_tags",
    "DROP FUNCTION tickets_ticket_tag_ids()",
    "ALTER TABLE tickets_ticket DROP COLUMN tag_ids",
]


class Migration(migrations.Migration):
    dependencies = [("tickets", "0009_care_assignee_index")]

    operations = [postgres_only(FORWARD, BACKWARD)]
