import { z } from "zod";
import { parseVerifierKey, SIGNATURE_TYPE_ED25519 } from "../checkpoint/index.js";
import { formatDuration, readDuration } from "./duration.js";

// Every scalar arrives as text (the YAML is read with the failsafe schema, and environment
// variables are text), so one set of readers gives the file and the environment the same rules.
// A reader's message follows the value it refers to: `<value> <message>`; the value is shown by
// the caller, who knows the field's path and so whether it is a secret.

type ReadResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly message: string; readonly shown?: string };

function scalar<T>(read: (text: string) => ReadResult<T>) {
  return z.string().transform((text, context) => {
    const result = read(text);
    if (result.ok) return result.value;
    context.issues.push({
      code: "custom",
      message: result.message,
      input: text,
      params: result.shown === undefined ? {} : { shown: result.shown },
    });
    return z.NEVER;
  });
}

function accept<T>(value: T): ReadResult<T> {
  return { ok: true, value };
}

function refuse(message: string, shown?: string): ReadResult<never> {
  return shown === undefined ? { ok: false, message } : { ok: false, message, shown };
}

/** Any text, including the empty string. */
export function text() {
  return scalar((value) => accept(value));
}

/** Text that is not empty. */
export function nonEmptyText() {
  return scalar((value) => (value === "" ? refuse("is empty; write a value") : accept(value)));
}

const NODE_ID = /^[a-z0-9_]{1,48}$/;
export const NODE_ID_RULE =
  "allowed 1 to 48 characters of a-z, 0-9 and _, because the id names the PostgreSQL " +
  "replication slot witnz_<id>";

export function isNodeId(value: string): boolean {
  return NODE_ID.test(value);
}

export function nodeId() {
  return scalar((value) =>
    isNodeId(value) ? accept(value) : refuse(`is not a valid node id; ${NODE_ID_RULE}`),
  );
}

const WHOLE_NUMBER = /^\d+$/;

export function wholeNumber(minimum: number, maximum: number) {
  const allowed = `allowed ${minimum}..${maximum}`;
  return scalar((value) => {
    if (!WHOLE_NUMBER.test(value)) return refuse(`is not a whole number; ${allowed}`);
    const number = Number(value);
    if (number < minimum || number > maximum) {
      return refuse(`is out of range; ${allowed}`, String(number));
    }
    return accept(number);
  });
}

export function flag() {
  return scalar((value) => {
    const lower = value.toLowerCase();
    if (lower === "true") return accept(true);
    if (lower === "false") return accept(false);
    return refuse("is not a boolean; write true or false");
  });
}

export function oneOf<const Choice extends string>(choices: readonly Choice[]) {
  const allowed = `allowed ${choices.join(", ")}`;
  return scalar((value) =>
    (choices as readonly string[]).includes(value)
      ? accept(value as Choice)
      : refuse(`is not allowed; ${allowed}`),
  );
}

// host:port where host is a name, an IPv4 address, or an IPv6 address in brackets.
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?):(\d{1,5})$/;
export const PORT_MIN = 1;
export const PORT_MAX = 65_535;

export function readHostPort(value: string): ReadResult<string> {
  const match = HOST_PORT.exec(value);
  if (match === null) {
    return refuse('is not host:port; write e.g. "node1:7000", "10.0.0.5:7000" or "[::1]:7000"');
  }
  const port = Number(match[2]);
  if (port < PORT_MIN || port > PORT_MAX) {
    return refuse(`has port ${port} out of range; allowed ${PORT_MIN}..${PORT_MAX}`);
  }
  return accept(value);
}

export function hostPort() {
  return scalar(readHostPort);
}

export function httpUrl() {
  return scalar((value) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return refuse('is not a URL; write e.g. "https://alerts.example.com/witnz"');
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      return refuse("is not an http or https URL");
    }
    return accept(value);
  });
}

export function durationMilliseconds(minimumMilliseconds: number, maximumMilliseconds: number) {
  const allowed = `allowed ${formatDuration(minimumMilliseconds)}..${formatDuration(maximumMilliseconds)}`;
  return scalar((value) => {
    const result = readDuration(value);
    if (!result.ok) return refuse(result.message, result.shown);
    if (result.milliseconds < minimumMilliseconds || result.milliseconds > maximumMilliseconds) {
      return refuse(`is out of range; ${allowed}`);
    }
    return accept(result.milliseconds);
  });
}

// A PostgreSQL identifier: unquoted (folded to lower case by PostgreSQL) or double-quoted with
// "" standing for one quote. A table name is `table` or `schema.table`.
const IDENTIFIER = '(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+")';
const TABLE_NAME = new RegExp(`^${IDENTIFIER}(?:\\.${IDENTIFIER})?$`);
const IDENTIFIER_PART = new RegExp(IDENTIFIER, "y");

export function tableName() {
  return scalar((value) =>
    TABLE_NAME.test(value)
      ? accept(value)
      : refuse('is not a table name; write table, schema.table or "Schema"."Table"'),
  );
}

/**
 * A key for comparing two spellings of a valid table name as PostgreSQL resolves them:
 * `Audit_Log` and `"audit_log"` are the same table; `"Audit_Log"` is another.
 */
export function canonicalTableName(value: string): string {
  const parts: string[] = [];
  let position = 0;
  while (position < value.length) {
    IDENTIFIER_PART.lastIndex = position;
    const match = IDENTIFIER_PART.exec(value);
    if (match === null) return value;
    const part = match[0];
    parts.push(part.startsWith('"') ? part.slice(1, -1).replaceAll('""', '"') : part.toLowerCase());
    position = IDENTIFIER_PART.lastIndex + 1;
  }
  return JSON.stringify(parts);
}

// A customer id names the raft nodes' cluster (their node.cluster_id) and appears in their
// checkpoints' origin `witnz/<customer>/<table>`: no spaces, no plus sign.
const CUSTOMER_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function customerId() {
  return scalar((value) =>
    CUSTOMER_ID.test(value)
      ? accept(value)
      : refuse(
          "is not a customer id; allowed 1 to 128 characters of A-Z, a-z, 0-9, '.', '_' and '-'",
        ),
  );
}

/** A signed-note verifier key (vkey) of type 0x01 (Ed25519): what `witnz keygen` prints. */
export function noteVerifierKey() {
  return scalar((value) => {
    try {
      const verifier = parseVerifierKey(value);
      if (verifier.type !== SIGNATURE_TYPE_ED25519) {
        return refuse("is a cosignature key; write the node's verifier key (type 0x01)");
      }
      return accept(value.trim());
    } catch (error) {
      return refuse(`is not a verifier key: ${(error as Error).message}`);
    }
  });
}
