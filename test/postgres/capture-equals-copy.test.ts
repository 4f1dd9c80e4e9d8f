// The property capture and verification stand on: the canonical bytes of a row captured from
// the pgoutput stream equal, byte for byte, those of the same row read back with COPY, for every
// common column type, whatever the database's own output defaults are.

import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { encodeRow } from "../../src/hash/index.js";
import {
  connectSession,
  copyTableText,
  ensurePublication,
  ensureReplicationSlot,
  type Relation,
  type ReplicationStream,
  startReplicationStream,
  startTestPostgres,
  type TestPostgres,
  type TestPostgresOptions,
  tupleRowImage,
} from "../../src/postgres/index.js";
import { decodeText, readTransaction } from "./stream-helpers.js";

const SCHEMA = "Audit";
const TABLE = "Log Entries";
const QUALIFIED = `"${SCHEMA}"."${TABLE}"`;

const COLUMNS_DDL = `
  "Id" int8 PRIMARY KEY,
  small int2, regular int4, big int8,
  amount numeric, precise numeric(60, 30),
  real4 float4, real8 float8,
  flag boolean,
  body text, label varchar(40), code char(6),
  payload bytea,
  day date, clock time, clock_zone timetz, stamp timestamp, stamp_zone timestamptz,
  span interval,
  identifier uuid, document json, document_binary jsonb,
  numbers int4[], words text[], stamps timestamptz[],
  address inet, network cidr, hardware macaddr, price money,
  "Mixed Case" text, relation regclass,
  large text`;

/** One row per entry: column -> SQL expression; columns left out are NULL. */
const ROWS: Record<string, string>[] = [
  {
    small: "1",
    regular: "2",
    big: "3",
    amount: "12.50",
    precise: "1.5",
    real4: "1.5",
    real8: "0.1",
    flag: "true",
    body: "'hello'",
    label: "'label'",
    code: "'ab'",
    payload: "'\\x0001ff'::bytea",
    day: "'2026-11-23'",
    clock: "'10:00:00'",
    clock_zone: "'10:00:00+02'",
    stamp: "'2026-11-23 10:00:00.123456'",
    stamp_zone: "'2026-11-23 10:00:00+02'",
    span: "'1 day 02:03:04'",
    identifier: "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
    document: `'{"b": 1,  "a": [1, 2]}'`,
    document_binary: `'{"b": 1,  "a": [1, 2]}'`,
    numbers: "'{1,2,3}'",
    words: "'{a,b}'",
    stamps: "ARRAY['2026-01-01 00:00:00+00'::timestamptz]",
    address: "'192.168.0.1/24'",
    network: "'10.0.0.0/8'",
    hardware: "'08:00:2b:01:02:03'",
    price: "1234.56",
    '"Mixed Case"': "'x'",
    relation: `'"${SCHEMA}"."${TABLE}"'::regclass`,
    large: "'small'",
  },
  {
    small: "-32768",
    regular: "2147483647",
    big: "-9223372036854775808",
    amount: "'NaN'",
    precise: "'123456789012345678901234567890.123456789012345678901234567891'",
    real4: "'NaN'",
    real8: "'NaN'",
    flag: "false",
    body:
      "E'emoji \\U0001F642\\U0001F469\\u200D\\U0001F467 combining e\\u0301 " +
      "rtl \\u05E9\\u05DC\\u05D5\\u05DD \\u0645\\u0631\\u062D\\u0628\\u0627 " +
      "tab\\there newline\\nhere cr\\rhere backslash\\\\ quote'' \\\\N'",
    label: "'ünïcödé'",
    code: "'é'",
    payload:
      "(SELECT string_agg(set_byte('\\x00'::bytea, 0, b), '') FROM generate_series(0, 255) b)",
    day: "'4713-01-01 BC'",
    clock: "'24:00:00'",
    clock_zone: "'23:59:59.999999-15:59'",
    stamp: "'infinity'",
    stamp_zone: "'-infinity'",
    span: "'-1 years +2 mons -3 days 04:05:06.789'",
    identifier: "'00000000-0000-0000-0000-000000000000'",
    document: `'[ "spaces" , {"dup":1,"dup":2} ]'`,
    document_binary: `'{"dup":1,"dup":2,"nested":{"z":[true,null,1.0e+2]}}'`,
    numbers: "'{{1,2},{3,NULL}}'",
    words: `ARRAY['with "quotes"', 'with,comma', NULL, '', E'back\\\\slash', 'NULL', ' spaced ', '{}']`,
    stamps: "ARRAY['infinity'::timestamptz, NULL, '2000-01-01 00:00:00.000001+14']",
    address: "'::ffff:1.2.3.4/128'",
    network: "'2001:db8::/32'",
    hardware: "'ff:ff:ff:ff:ff:ff'",
    price: "-92233720368547758.08",
    relation: "'pg_catalog.pg_class'::regclass",
    large: "''",
  },
  {},
  { real4: "'Infinity'", real8: "'-Infinity'", amount: "'-Infinity'", precise: "0" },
  { real4: "'-0'", real8: "'-0'", amount: "'-0.000'" },
  { real4: "'3.4028235e38'", real8: "'5e-324'", amount: "1e-100" },
  { real4: "'1.17549435e-38'", real8: "'1.7976931348623157e308'" },
  { real4: "'0.1'", real8: "0.1::float8 + 0.2::float8", amount: "0.1" },
  // > 1 MB of barely compressible text: stored out of line in the TOAST table.
  { large: "(SELECT string_agg(md5(i::text), '') FROM generate_series(1, 40000) i)" },
];

const DIFFERENT_DEFAULTS: TestPostgresOptions = {
  timeZone: "America/New_York",
  dateStyle: "SQL, DMY",
  settings: { IntervalStyle: "sql_standard", extra_float_digits: "0", bytea_output: "escape" },
};

describe.each([
  ["the server's own defaults", {} as TestPostgresOptions, 1],
  ["defaults that differ from the pinned settings", DIFFERENT_DEFAULTS, 2],
])("capture equals COPY under %s", (_, serverOptions, run) => {
  let server: TestPostgres;
  let application: pg.Client;
  let stream: ReplicationStream;
  const slotName = `witnz_capture_${run}`;

  beforeAll(async () => {
    server = await startTestPostgres(serverOptions);
    console.log(`server ready in ${server.startupMs} ms`);
    // The application writes through an ordinary session: the database's defaults apply.
    application = new pg.Client({ connectionString: server.connectionString });
    await application.connect();
    await application.query(`CREATE SCHEMA "${SCHEMA}"`);
    await application.query(`CREATE TABLE ${QUALIFIED} (${COLUMNS_DDL})`);
    const setup = await connectSession(server);
    await ensurePublication(setup, "witnz", [{ schema: SCHEMA, table: TABLE }]);
    await ensureReplicationSlot(setup, slotName);
    await setup.end();
    stream = await startReplicationStream({
      connection: server,
      slotName,
      publicationNames: ["witnz"],
    });
  });

  afterAll(async () => {
    await stream?.close();
    await application?.end();
    await server?.stop();
  });

  test("every common column type, NULLs, and a TOASTed value encode identically", async () => {
    const insertStartedAt = performance.now();
    for (const [index, row] of ROWS.entries()) {
      const columns = ['"Id"', ...Object.keys(row)];
      const values = [String(index + 1), ...Object.values(row)];
      await application.query(`INSERT INTO ${QUALIFIED} (${columns}) VALUES (${values})`);
    }
    const captureStartedAt = performance.now();
    const captured = new Map<string, Buffer>();
    let relation: Relation | undefined;
    while (captured.size < ROWS.length) {
      const transaction = await readTransaction(stream);
      for (const message of transaction.messages) {
        if (message.kind === "relation") relation = message.relation;
        if (message.kind !== "insert") continue;
        const image = tupleRowImage(message.relation, message.newTuple);
        captured.set(decodeText(message.newTuple[0]), encodeRow(image));
      }
      stream.acknowledge(transaction.commit.endLsn);
    }
    const copyStartedAt = performance.now();
    expect(relation).toMatchObject({ schema: SCHEMA, table: TABLE, replicaIdentity: "default" });
    const columnNames = relation!.columns.map((column) => column.name);
    expect(columnNames[0]).toBe("Id");
    expect(columnNames).toContain("Mixed Case");

    const verifier = await connectSession(server);
    const copied = new Map<string, Buffer>();
    for await (const values of copyTableText(verifier, SCHEMA, TABLE, columnNames)) {
      const image = { schema: SCHEMA, table: TABLE, columns: columnNames, values };
      copied.set(decodeText(values[0]), encodeRow(image));
    }
    const doneAt = performance.now();
    console.log(
      `insert ${Math.round(captureStartedAt - insertStartedAt)} ms, capture ` +
        `${Math.round(copyStartedAt - captureStartedAt)} ms, COPY ${Math.round(doneAt - copyStartedAt)} ms`,
    );

    expect([...copied.keys()].sort()).toEqual([...captured.keys()].sort());
    for (const [key, bytes] of captured) {
      const fromCopy = copied.get(key)!;
      expect({ key, equal: bytes.equals(fromCopy) }).toEqual({ key, equal: true });
    }
    const large = copied.get(String(ROWS.length))!;
    expect(large.length).toBeGreaterThan(1024 * 1024);

    // The text is the pinned form, not merely the same wrong form on both sides.
    const pinned = await verifier.query(
      `SELECT stamp_zone::text, day::text, span::text, real8::text, payload::text, price::text, ` +
        `relation::text FROM ${QUALIFIED} WHERE "Id" = 1`,
    );
    expect(pinned.rows[0]).toEqual({
      stamp_zone: "2026-11-23 08:00:00+00",
      day: "2026-11-23",
      span: "1 day 02:03:04",
      real8: "0.1",
      payload: "\\x0001ff",
      price: "$1,234.56",
      relation: `"${SCHEMA}"."${TABLE}"`,
    });
    const [first] = (
      await collectRows(verifier, ["stamp_zone", "real8", "span", "payload"])
    ).filter((row) => row.id === "1");
    expect(first?.values).toEqual(["2026-11-23 08:00:00+00", "0.1", "1 day 02:03:04", "\\x0001ff"]);
    await verifier.end();

    if (serverOptions === DIFFERENT_DEFAULTS) {
      const unpinned = await application.query(
        `SELECT stamp_zone::text, day::text, span::text FROM ${QUALIFIED} WHERE "Id" = 1`,
      );
      expect(unpinned.rows[0]).toEqual({
        stamp_zone: "23/11/2026 03:00:00 EST",
        day: "23/11/2026",
        span: "1 2:03:04",
      });
    }
  });
});

async function collectRows(client: pg.Client, columns: string[]) {
  const rows: { id: string; values: (string | null)[] }[] = [];
  for await (const values of copyTableText(client, SCHEMA, TABLE, ["Id", ...columns])) {
    rows.push({
      id: decodeText(values[0]),
      values: values.slice(1).map((value) => (value === null ? null : decodeText(value))),
    });
  }
  return rows;
}
