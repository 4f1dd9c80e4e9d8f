// A short-lived superuser session for setting up and tearing down test servers. Not pinned:
// it creates databases and slots and reads nothing that is hashed.

import pg from "pg";

export function connectionUrl(
  host: string,
  port: number,
  user: string,
  password: string,
  database: string,
): string {
  const encode = encodeURIComponent;
  return `postgresql://${encode(user)}:${encode(password)}@${host}:${port}/${encode(database)}`;
}

export interface AdminTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

export async function runAsAdmin<T>(
  target: AdminTarget,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    application_name: "witnz-test-admin",
  });
  client.on("error", () => {
    // Reported through the failing query; an idle admin client has nothing to lose.
  });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
