// A configured table name (`audit_log`, `billing.orders`, `"Audit"."Log"`) to the display name
// the store keys its chains by, parsed locally the way PostgreSQL's parse_ident parses it, so that
// `witnz status` can read the store while the database is unreachable.
import { tableDisplayName } from "../catalog/index.js";
import { StatusError } from "./errors.js";

/**
 * Unquoted parts are folded to lower case (ASCII only, as PostgreSQL does in a UTF-8 database);
 * quoted parts keep their case, with `""` standing for one `"`. One part lives in `public`.
 */
export function displayNameOfConfiguredTable(name: string): string {
  const parts: string[] = [];
  let index = 0;
  const fail = (why: string): never => {
    throw new StatusError("WITNZ_STATUS_TABLE", `${JSON.stringify(name)} ${why}`);
  };
  for (;;) {
    while (name[index] === " ") index += 1;
    let part = "";
    if (name[index] === '"') {
      index += 1;
      for (;;) {
        if (index >= name.length) fail("has an unterminated quoted identifier");
        if (name[index] === '"') {
          if (name[index + 1] !== '"') break;
          index += 1;
        }
        part += name[index];
        index += 1;
      }
      index += 1;
      if (part === "") fail("has an empty quoted identifier");
    } else {
      while (index < name.length && name[index] !== "." && name[index] !== " ") {
        part += name[index];
        index += 1;
      }
      if (part === "" || part.includes('"')) fail("is not a table name");
      part = part.replaceAll(/[A-Z]/g, (letter) => letter.toLowerCase());
    }
    parts.push(part);
    while (name[index] === " ") index += 1;
    if (index >= name.length) break;
    if (name[index] !== ".") fail("is not a table name");
    index += 1;
  }
  if (parts.length === 1) return tableDisplayName("public", parts[0]!);
  if (parts.length === 2) return tableDisplayName(parts[0]!, parts[1]!);
  return fail(`has ${parts.length} parts; write table or schema.table`);
}
