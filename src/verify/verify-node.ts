// `witnz verify [TABLE]` for a node: its store, its database, its protected tables.

import type pg from "pg";
import { decodeTableLayout, tableDisplayName, tableLayoutMetaName } from "../catalog/index.js";
import type { WitnzConfig } from "../config/index.js";
import { openDatabaseSession } from "../setup/index.js";
import { openStore } from "../store/index.js";
import { VerifyError } from "./errors.js";
import { type TableVerification, type VerifyTableOptions, verifyTable } from "./verify-table.js";

export interface NodeVerification {
  readonly tables: TableVerification[];
}

export interface VerifyNodeOptions extends VerifyTableOptions {
  /** One table as the user wrote it (`audit_log`, `public.audit_log`, `"Audit"."Log"`). */
  readonly table?: string;
}

/** Verifies every protected table (or the one asked for) of this node, one after the other. */
export async function verifyNode(
  config: WitnzConfig,
  options: VerifyNodeOptions = {},
): Promise<NodeVerification> {
  if (config.database === undefined) {
    throw new VerifyError(
      "WITNZ_VERIFY_CONFIG",
      `node ${config.node.id} is a ${config.node.role} node with no database; verify runs on raft nodes`,
    );
  }
  if (config.protectedTables.length === 0) {
    throw new VerifyError("WITNZ_VERIFY_CONFIG", "no protected_tables in the configuration");
  }
  const client = await openDatabaseSession(config.database);
  try {
    // One query at a time: a pg client queues concurrent queries, which it deprecates.
    const protectedNames: string[] = [];
    for (const table of config.protectedTables) {
      protectedNames.push(await displayNameOf(client, table.name));
    }
    let names = protectedNames;
    if (options.table !== undefined) {
      const wanted = await displayNameOf(client, options.table);
      if (!protectedNames.includes(wanted)) {
        throw new VerifyError(
          "WITNZ_VERIFY_TABLE",
          `${wanted} is not a protected table of this node (protected: ${protectedNames.join(", ")})`,
        );
      }
      names = [wanted];
    }
    const store = await openStore(config.node.dataDir);
    try {
      const tables: TableVerification[] = [];
      for (const name of names) {
        const recorded = store.meta(tableLayoutMetaName(name));
        if (recorded === undefined) {
          throw new VerifyError(
            "WITNZ_VERIFY_TABLE",
            `${name} has no recorded layout in ${config.node.dataDir}; run witnz init first`,
          );
        }
        tables.push(await verifyTable(store, client, decodeTableLayout(recorded), options));
      }
      return { tables };
    } finally {
      await store.close();
    }
  } finally {
    await client.end().catch(() => {});
  }
}

/** The display name of a configured or typed table name, parsed the way PostgreSQL parses it. */
async function displayNameOf(client: pg.Client, name: string): Promise<string> {
  let parts: string[];
  try {
    const result = await client.query<{ parts: string[] }>("SELECT parse_ident($1) AS parts", [
      name,
    ]);
    parts = result.rows[0]!.parts;
  } catch (error) {
    throw new VerifyError("WITNZ_VERIFY_TABLE", `${JSON.stringify(name)} is not a table name`, {
      cause: error,
    });
  }
  if (parts.length === 1) return tableDisplayName("public", parts[0]!);
  if (parts.length === 2) return tableDisplayName(parts[0]!, parts[1]!);
  throw new VerifyError(
    "WITNZ_VERIFY_TABLE",
    `${JSON.stringify(name)} has ${parts.length} parts; write table or schema.table`,
  );
}
