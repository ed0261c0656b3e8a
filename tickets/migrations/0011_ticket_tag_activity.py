"""Each tag link carries its ticket's status and last activity, indexed by tag (Postgres only).

A view of one tag and some statuses ("open" + "refund") and its sidebar count read the tickets
of a tag in a status, newest activity first. With the tag on the ticket row only
(0010_ticket_tag_ids), a page walked the status's ordered index and checked each ticket for the
tag: ~2,100 ticket rows for 51 at a million tickets (~2 ms), and the count of 1,000 intersected
a 70,000-entry and a 36,000-entry bitmap (~12-20 ms). Here the link rows of a tag in a status
are one range of the `ticket_tag_activity` index, in the page's order: a page reads its 51 links
and a capped count its 1,000 (tickets/tag_activity.py).

Triggers keep the copies exact whatever writes them (services, bulk actions, merges, the
admin, raw SQL): a new link takes its ticket's values, read under the lock an UPDATE of that
ticket takes (so a ticket changed meanwhile is read as committed), and a ticket whose status or
activity changes rewrites its links in the same statement. The tag-ids trigger of 0010 now fires
only when a link's ticket or tag changes, not when these copies do. The columns are not model
fields: Django never writes them, and the embedded profile (SQLite) does without them.
"""

from django.db import migrations

from core.postgres_sql import postgres_only

FORWARD = [
    # Tickets are read but not written while the links are filled: a ticket changed between the
    # fill and the trigger's creation would otherwise keep a stale copy.
    "LOCK TABLE tickets_ticket IN SHARE ROW EXCLUSIVE MODE",
    # 0010's trigger rewrote the ticket's tag array on every update of a link: now only when the
    # link's ticket or tag changes (the copies below change with every ticket activity, and the
    # fill below updates every link).
    "DROP TRIGGER tickets_ticket_tags_sync ON tickets_ticket_tags",
    """CREATE TRIGGER tickets_ticket_tags_sync
  AFTER INSERT OR DELETE OR UPDATE OF ticket_id, tag_id ON tickets_ticket_tags
  FOR EACH ROW EXECUTE FUNCTION tickets_ticket_tag_ids()""",
    "ALTER TABLE tickets_ticket_tags ADD COLUMN status varchar(16),"
    " ADD COLUMN updated_at timestamptz",
    """UPDATE tickets_ticket_tags l SET status = t.status, updated_at = t.updated_at
  FROM tickets_ticket t WHERE t.id = l.ticket_id""",
    "ALTER TABLE tickets_ticket_tags ALTER COLUMN status SET NOT NULL,"
    " ALTER COLUMN updated_at SET NOT NULL",
    "CREATE INDEX ticket_tag_activity ON tickets_ticket_tags"
    " (tag_id, status, updated_at DESC, ticket_id DESC)",
    """CREATE FUNCTION tickets_tag_link_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT t.status, t.updated_at INTO NEW.status, NEW.updated_at
    FROM tickets_ticket t WHERE t.id = NEW.ticket_id FOR NO KEY UPDATE;
  RETURN NEW;
END $$""",
    """CREATE TRIGGER tickets_tag_link_activity BEFORE INSERT OR UPDATE OF ticket_id
  ON tickets_ticket_tags FOR EACH ROW EXECUTE FUNCTION tickets_tag_link_activity()""",
    """CREATE FUNCTION tickets_ticket_activity_to_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE tickets_ticket_tags SET status = NEW.status, updated_at = NEW.updated_at
   WHERE ticket_id = NEW.id;
  RETURN NULL;
END $$""",
    """CREATE TRIGGER tickets_ticket_activity_to_links AFTER UPDATE OF status, updated_at
  ON tickets_ticket FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.updated_at IS DISTINCT FROM NEW.updated_at)
  EXECUTE FUNCTION tickets_ticket_activity_to_links()""",
    "ANALYZE tickets_ticket_tags",
]

BACKWARD = [
    "DROP TRIGGER tickets_ticket_tags_sync ON tickets_ticket_tags",
    """CREATE TRIGGER tickets_ticket_tags_sync AFTER INSERT OR UPDATE OR DELETE ON tickets_ticket_tags
  FOR EACH ROW EXECUTE FUNCTION tickets_ticket_tag_ids()""",
    "DROP TRIGGER tickets_ticket_activity_to_links ON tickets_ticket",
    "DROP FUNCTION tickets_ticket_activity_to_links()",
    "DROP TRIGGER tickets_tag_link_activity ON tickets_ticket_tags",
    "DROP FUNCTION tickets_tag_link_activity()",
    "ALTER TABLE tickets_ticket_tags DROP COLUMN status, DROP COLUMN updated_at",
]


class Migration(migrations.Migration):
    dependencies = [("tickets", "0010_ticket_tag_ids")]

    operations = [postgres_only(FORWARD, BACKWARD)]
