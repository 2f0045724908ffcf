/**
 * PostgreSQL text cannot hold NUL, so no stored id contains one; a lookup by such an id
 * (possible through a URL's %00) is answered "not found" without asking the database,
 * which would fail the query instead.
 */
export const couldBeStored = (id: string): boolean => !id.includes("\u0000");
