import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { formatConfigError, loadConfig } from "../../src/config/index.js";
import { configErrorOf, MINIMAL_RAFT_NODE } from "./helpers.js";

const directory = mkdtempSync(join(tmpdir(), "witnz-config-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("loadConfig", () => {
  test("reads, interpolates and overrides from the given environment", () => {
    const path = join(directory, "node1.yaml");
    writeFileSync(
      path,
      MINIMAL_RAFT_NODE.replace("  user: witnz", `  user: witnz\n  password: \${PGPASSWORD}`),
    );
    const { config, warnings } = loadConfig(path, {
      env: { PGPASSWORD: "from-env", WITNZ_NODE_BOOTSTRAP: "true" },
    });
    expect(warnings).toEqual([]);
    expect(config.database?.password).toBe("from-env");
    expect(config.node.bootstrap).toBe(true);
  });

  test("names the file in its problems", () => {
    const path = join(directory, "bad.yaml");
    writeFileSync(path, MINIMAL_RAFT_NODE.replace("  id: node1\n", ""));
    const error = configErrorOf(() => loadConfig(path, { env: {} }));
    expect(error.code).toBe("WITNZ_CONFIG_INVALID");
    expect(error.source).toBe(path);
    expect(formatConfigError(error)).toBe(
      `${path}: 1 configuration problem\n  node.id: missing; required`,
    );
  });

  test("a missing file is unreadable, with the path and the system's reason", () => {
    const path = join(directory, "absent.yaml");
    const error = configErrorOf(() => loadConfig(path, { env: {} }));
    expect(error.code).toBe("WITNZ_CONFIG_UNREADABLE");
    expect(error.problems).toEqual(["no such file or directory (ENOENT)"]);
    expect(formatConfigError(error)).toBe(
      `${path}: cannot read the configuration file\n  no such file or directory (ENOENT)`,
    );
    expect((error.cause as NodeJS.ErrnoException).code).toBe("ENOENT");
  });

  test("a directory is unreadable", () => {
    const path = join(directory, "a-directory");
    mkdirSync(path);
    const error = configErrorOf(() => loadConfig(path, { env: {} }));
    expect(error.code).toBe("WITNZ_CONFIG_UNREADABLE");
    expect(error.problems).toEqual(["illegal operation on a directory (EISDIR)"]);
  });

  test("a file over 1 MiB is refused before it is read", () => {
    const path = join(directory, "huge.yaml");
    writeFileSync(path, `# ${"x".repeat(1_048_576)}\n`);
    const error = configErrorOf(() => loadConfig(path, { env: {} }));
    expect(error.code).toBe("WITNZ_CONFIG_INVALID");
    expect(error.problems).toEqual([
      "the file is 1048579 bytes; a configuration file is at most 1048576",
    ]);
  });
});
