import { describe, expect, test } from "vitest";
import { ConfigError, formatConfigError, parseConfig } from "../../src/config/index.js";
import { configErrorOf, MINIMAL_RAFT_NODE } from "./helpers.js";

function problemsOf(text: string, env: Record<string, string> = {}): readonly string[] {
  return configErrorOf(() => parseConfig(text, { env })).problems;
}

describe("malformed YAML", () => {
  test("reports the line and column of each syntax error", () => {
    const error = configErrorOf(() =>
      parseConfig("node:\n  id: node1\n  id: node2\n\tdata_dir: /data\n", { source: "witnz.yaml" }),
    );
    expect(error.code).toBe("WITNZ_CONFIG_SYNTAX");
    expect(error.problems).toEqual([
      "line 3, column 3: map keys must be unique",
      "line 4, column 1: tabs are not allowed as indentation",
    ]);
  });

  test("an unclosed quote is a syntax error that does not echo the line", () => {
    const error = configErrorOf(() =>
      parseConfig('database:\n  password: "hunter2\nnode:\n  id: node1\n'),
    );
    expect(error.code).toBe("WITNZ_CONFIG_SYNTAX");
    expect(error.problems).toEqual(['line 5, column 1: missing closing "quote']);
    expect(error.message).not.toContain("hunter2");
  });

  test("a document that is not a mapping", () => {
    expect(problemsOf("- node\n- database\n")).toEqual([
      "found a list; a configuration is a mapping with the keys database, node and protected_tables",
    ]);
    expect(problemsOf("# only a comment\n")).toEqual([
      "the configuration is empty; a configuration is a mapping with the keys database, node and protected_tables",
    ]);
  });
});

describe("field problems", () => {
  test("missing required fields", () => {
    expect(
      problemsOf(
        "database:\n  host: db\nnode:\n  bind_addr: node1:7000\nprotected_tables:\n  - mode: append_only\n",
      ),
    ).toEqual([
      "database.database: missing; required",
      "database.user: missing; required",
      "node.id: missing; required",
      "node.data_dir: missing; required",
      "protected_tables[0].name: missing; required",
    ]);
  });

  test("a whole missing node section", () => {
    expect(
      problemsOf("database:\n  database: mydb\n  user: witnz\nprotected_tables:\n  - name: t\n"),
    ).toEqual(["node: missing; required"]);
  });

  test("wrong types: a list or mapping where a value belongs, and the reverse", () => {
    const text = MINIMAL_RAFT_NODE.replace("  user: witnz", "  user: [witnz, admin]").replace(
      "  data_dir: /data",
      "  data_dir: {path: /data}\n  peer_addrs: [node2:7000]",
    );
    expect(problemsOf(`${text}alerts: true\nwitnz_nodes: witness1:9000\n`)).toEqual([
      "database.user: a list is not a single value",
      "node.data_dir: a mapping is not a single value",
      "node.peer_addrs: a list is not a mapping; write key: value lines under it",
      'alerts: "true" is not a mapping; write key: value lines under it',
      'witnz_nodes: "witness1:9000" is not a list; write one "- " item per line',
    ]);
  });

  test("values of the right kind but not allowed", () => {
    const text = MINIMAL_RAFT_NODE.replace("  user: witnz", "  user: witnz\n  sslmode: verify-ca")
      .replace("  id: node1", "  id: Node-1\n  role: witnz\n  log_level: verbose")
      .replace("  bind_addr: node1:7000", "  bind_addr: node1\n  bootstrap: yes");
    expect(
      problemsOf(`${text}alerts:\n  enabled: 1\n  webhook:\n    url: ftp://example.com\n`),
    ).toEqual([
      'database.sslmode: "verify-ca" is not allowed; allowed disable, prefer, require, verify-full',
      'node.id: "Node-1" is not a valid node id; allowed 1 to 48 characters of a-z, 0-9 and _, because the id names the PostgreSQL replication slot witnz_<id>',
      'node.role: "witnz" is not allowed; allowed raft, witness',
      'node.bind_addr: "node1" is not host:port; write e.g. "node1:7000", "10.0.0.5:7000" or "[::1]:7000"',
      'node.bootstrap: "yes" is not a boolean; write true or false',
      'node.log_level: "verbose" is not allowed; allowed trace, debug, info, warn, error, fatal',
      'alerts.enabled: "1" is not a boolean; write true or false',
      'alerts.webhook.url: "ftp://example.com" is not an http or https URL',
    ]);
  });

  test("a node id longer than 48 characters is refused, and says why", () => {
    const id = "n".repeat(49);
    expect(problemsOf(MINIMAL_RAFT_NODE.replace("id: node1", `id: ${id}`))).toEqual([
      `node.id: "${id}" is not a valid node id; allowed 1 to 48 characters of a-z, 0-9 and _, because the id names the PostgreSQL replication slot witnz_<id>`,
    ]);
  });

  test("ports out of range, as a number and inside host:port", () => {
    const text = MINIMAL_RAFT_NODE.replace("  user: witnz", "  user: witnz\n  port: 70000").replace(
      "  bind_addr: node1:7000",
      "  bind_addr: node1:0\n  http_addr: localhost:65536",
    );
    expect(problemsOf(text)).toEqual([
      "database.port: 70000 is out of range; allowed 1..65535",
      'node.bind_addr: "node1:0" has port 0 out of range; allowed 1..65535',
      'node.http_addr: "localhost:65536" has port 65536 out of range; allowed 1..65535',
    ]);
    expect(
      problemsOf(MINIMAL_RAFT_NODE.replace("  user: witnz", "  user: witnz\n  port: 5432.0")),
    ).toEqual(['database.port: "5432.0" is not a whole number; allowed 1..65535']);
  });

  test("bad durations, in several forms", () => {
    const tables = ["30 minutes", "30", "30m1h", "1h1h", "1.5h", "-5m", "30M", "0s", "8d", ""].map(
      (interval, index) => `  - name: t${index}\n    verify_interval: "${interval}"\n`,
    );
    const text = `${MINIMAL_RAFT_NODE}${tables.join("")}hash_collection_timeout: 50ms\n`;
    expect(problemsOf(text)).toEqual([
      'protected_tables[1].verify_interval: "30 minutes" is not a duration; write e.g. "30m", "10s", "1h30m"',
      'protected_tables[2].verify_interval: 30 has no unit; write a unit, e.g. "30s"',
      'protected_tables[3].verify_interval: "30m1h" is not a duration; write each unit once, larger units first, e.g. "1h30m"',
      'protected_tables[4].verify_interval: "1h1h" is not a duration; write each unit once, larger units first, e.g. "1h30m"',
      'protected_tables[5].verify_interval: "1.5h" is not a duration; write e.g. "30m", "10s", "1h30m"',
      'protected_tables[6].verify_interval: "-5m" is not a duration; write e.g. "30m", "10s", "1h30m"',
      'protected_tables[7].verify_interval: "30M" is not a duration; write e.g. "30m", "10s", "1h30m"',
      'protected_tables[8].verify_interval: "0s" is out of range; allowed 1s..7d',
      'protected_tables[9].verify_interval: "8d" is out of range; allowed 1s..7d',
      'protected_tables[10].verify_interval: "" is not a duration; write e.g. "30m", "10s", "1h30m"',
      'hash_collection_timeout: "50ms" is out of range; allowed 100ms..1h',
    ]);
  });

  test("bad table names", () => {
    const text = `${MINIMAL_RAFT_NODE}  - name: audit log\n  - name: a.b.c\n  - name: '"unclosed'\n`;
    const allowed = 'is not a table name; write table, schema.table or "Schema"."Table"';
    expect(problemsOf(text)).toEqual([
      `protected_tables[1].name: "audit log" ${allowed}`,
      `protected_tables[2].name: "a.b.c" ${allowed}`,
      `protected_tables[3].name: "\\"unclosed" ${allowed}`,
    ]);
  });

  test("every problem is reported together, not just the first", () => {
    const error = configErrorOf(() =>
      parseConfig(
        `database:
  port: 70000
node:
  id: node1
  bind_addr: node1:7000
  data_dir: /data
protected_tables:
  - name: audit_log
    verify_interval: 30m
  - name: orders
    verify_interval: 30 minutes
`,
        { source: "witnz.yaml" },
      ),
    );
    expect(error.code).toBe("WITNZ_CONFIG_INVALID");
    expect(error.problems).toEqual([
      "database.port: 70000 is out of range; allowed 1..65535",
      "database.database: missing; required",
      "database.user: missing; required",
      'protected_tables[1].verify_interval: "30 minutes" is not a duration; write e.g. "30m", "10s", "1h30m"',
    ]);
    expect(formatConfigError(error)).toBe(
      [
        "witnz.yaml: 4 configuration problems",
        "  database.port: 70000 is out of range; allowed 1..65535",
        "  database.database: missing; required",
        "  database.user: missing; required",
        '  protected_tables[1].verify_interval: "30 minutes" is not a duration; write e.g. "30m", "10s", "1h30m"',
      ].join("\n"),
    );
    expect(error.message).toBe(formatConfigError(error));
  });
});

describe("secrets", () => {
  test("never appear in error text, whatever is wrong", () => {
    const error = configErrorOf(() =>
      parseConfig(
        `database:
  database: mydb
  user: witnz
  password: [hunter2-password]
node:
  id: node1
  bind_addr: node1:7000
  data_dir: /data
protected_tables:
  - name: audit_log
alerts:
  slack_webhook: hooks.slack.com/services/T000/B000/hunter2-slack
  webhook:
    url: https://alerts.example.com
    secret: \${MISSING_SECRET_VARIABLE
`,
        { env: { WITNZ_ALERTS_WEBHOOK_URL: "nope hunter2-url" } },
      ),
    );
    expect(error.problems).toEqual([
      `alerts.webhook.secret: has "\${" without a closing "}"; write \${NAME}, or $\${ for a literal \${`,
      "database.password: *** is not a single value",
      'alerts.slack_webhook: *** is not a URL; write e.g. "https://alerts.example.com/witnz"',
      'alerts.webhook.url: "nope hunter2-url" is not a URL; write e.g. "https://alerts.example.com/witnz" (from WITNZ_ALERTS_WEBHOOK_URL)',
    ]);
    const text = formatConfigError(error);
    expect(text).not.toContain("hunter2-password");
    expect(text).not.toContain("hunter2-slack");
    expect(text).not.toContain("MISSING_SECRET_VARIABLE");
  });

  test("a secret from the environment is masked too", () => {
    const error = configErrorOf(() =>
      parseConfig(`${MINIMAL_RAFT_NODE}alerts:\n  webhook:\n    url: https://a.example\n`, {
        env: { WITNZ_ALERTS_WEBHOOK_SECRET: "", WITNZ_ALERTS_SLACK_WEBHOOK: "hunter2-env" },
      }),
    );
    expect(error.problems).toEqual([
      'alerts.slack_webhook: *** is not a URL; write e.g. "https://alerts.example.com/witnz" (from WITNZ_ALERTS_SLACK_WEBHOOK)',
    ]);
    expect(error.message).not.toContain("hunter2-env");
  });
});

test("ConfigError carries its code, source and problems", () => {
  const error = new ConfigError("WITNZ_CONFIG_INVALID", "witnz.yaml", [
    "node.id: missing; required",
  ]);
  expect(error).toBeInstanceOf(Error);
  expect(error.name).toBe("ConfigError");
  expect(error.code).toBe("WITNZ_CONFIG_INVALID");
  expect(error.source).toBe("witnz.yaml");
  expect(error.warnings).toEqual([]);
  expect(formatConfigError(error)).toBe(
    "witnz.yaml: 1 configuration problem\n  node.id: missing; required",
  );
});
