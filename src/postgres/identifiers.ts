// SQL identifiers and the names Witnz gives its replication objects.

import { PostgresError } from "./errors.js";

/** PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes; we refuse instead of truncating. */
export const IDENTIFIER_BYTES_MAX = 63;

/** Quotes an identifier the way quote_ident does when quoting is needed, always quoting. */
export function quoteIdentifier(name: string): string {
  if (name.length === 0 || name.includes("\u0000")) {
    throw new PostgresError("WITNZ_POSTGRES_INVALID", `${JSON.stringify(name)} is no identifier`);
  }
  if (Buffer.byteLength(name, "utf8") > IDENTIFIER_BYTES_MAX) {
    throw new PostgresError(
      "WITNZ_POSTGRES_INVALID",
      `identifier ${JSON.stringify(name)} is longer than ${IDENTIFIER_BYTES_MAX} bytes`,
    );
  }
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."table"`, both parts quoted, as a statement must name a protected table. */
export function qualifiedTableName(schema: string, table: string): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
}

/** Same rule as a node id in the configuration: it names the slot, whose charset is narrow. */
const NODE_ID = /^[a-z0-9_]{1,48}$/;
const SLOT_PREFIX = "witnz_";

/** The node's own logical replication slot: `witnz_<node id>`. */
export function slotNameForNode(nodeId: string): string {
  if (!NODE_ID.test(nodeId)) {
    throw new PostgresError(
      "WITNZ_POSTGRES_INVALID",
      `node id ${JSON.stringify(nodeId)} must be 1 to 48 characters of a-z, 0-9 and _ ` +
        "because it names the replication slot witnz_<id>",
    );
  }
  return `${SLOT_PREFIX}${nodeId}`;
}

/**
 * A node's own publication, named like its slot (`witnz_<id>`): it lists exactly the tables that
 * node protects, so one node's `witnz init` never changes what another node streams.
 */
export function publicationNameForNode(nodeId: string): string {
  return slotNameForNode(nodeId);
}
