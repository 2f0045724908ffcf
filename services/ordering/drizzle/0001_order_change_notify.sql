-- Hand-written: wakes the requests that wait for an order (GET /orders/<id>?wait=<ms>) in every
-- replica. One NOTIFY per 30 changed orders of a statement (order ids separated by spaces, within
-- the 8000-byte payload limit), delivered by PostgreSQL only when the transaction commits.
-- Inserts (new orders) notify nothing: only a line's status changing can end a wait.
CREATE FUNCTION "ordering_notify_order_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  payload text;
BEGIN
  FOR payload IN
    SELECT string_agg("order_id", ' ')
    FROM (
      SELECT "order_id", (row_number() OVER () - 1) / 30 AS "chunk"
      FROM (
        SELECT DISTINCT n."order_id"
        FROM "new_lines" n
        JOIN "old_lines" o ON o."order_id" = n."order_id" AND o."sku" = n."sku"
        WHERE n."status" IS DISTINCT FROM o."status"
      ) AS "changed"
    ) AS "numbered"
    GROUP BY "chunk"
  LOOP
    PERFORM pg_notify('ordering_order_changed', payload);
  END LOOP;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "order_lines_status_changed"
  AFTER UPDATE ON "order_lines"
  REFERENCING OLD TABLE AS "old_lines" NEW TABLE AS "new_lines"
  FOR EACH STATEMENT EXECUTE FUNCTION "ordering_notify_order_changed"();
