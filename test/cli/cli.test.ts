import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { parseVerifierKey } from "../../src/checkpoint/index.js";
import {
  ed25519PrivateKeyFromPem,
  ed25519PublicKeyFromPem,
  ed25519Sign,
  ed25519Verify,
} from "../../src/crypto/index.js";

// The real binary as installed: `npm test` builds dist/ first.
const BIN = new URL("../../dist/src/cli/bin.js", import.meta.url).pathname;
const run = promisify(execFile);

async function witnz(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, WITNZ_CONFIG: "" },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "witnz-cli-"));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("witnz CLI", () => {
  test("--version prints the package version", async () => {
    const manifest = JSON.parse(
      await readFile(new URL("../../package.json", import.meta.url), "utf8"),
    );
    const result = await witnz("--version");
    expect(result).toMatchObject({ code: 0, stdout: `${manifest.version}\n` });
  });

  test("--help lists every verb", async () => {
    const result = await witnz("--help");
    expect(result.code).toBe(0);
    for (const verb of ["init", "start", "status", "verify", "demo", "keygen"]) {
      expect(result.stdout).toMatch(new RegExp(`^  ${verb}\\b`, "m"));
    }
  });

  test("an unknown verb is a usage error with exit code 2", async () => {
    const result = await witnz("frobnicate");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: unknown command 'frobnicate'");
  });

  test("keygen writes a working Ed25519 pair, private key mode 0600, and prints its vkeys", async () => {
    const out = join(directory, "keys");
    const result = await witnz("keygen", "--out", out, "--name", "witnz.example/node-a");
    expect(result.code).toBe(0);
    const privateStat = await stat(join(out, "node.key"));
    expect(privateStat.mode & 0o777).toBe(0o600);
    const privateKey = ed25519PrivateKeyFromPem(await readFile(join(out, "node.key"), "utf8"));
    const publicKey = ed25519PublicKeyFromPem(await readFile(join(out, "node.pub"), "utf8"));
    const message = Buffer.from("observation");
    expect(ed25519Verify(publicKey, message, ed25519Sign(privateKey, message))).toBe(true);
    const vkey = /^verifier key: +(\S+)$/m.exec(result.stdout)?.[1];
    expect(vkey).toBeDefined();
    const verifier = parseVerifierKey(vkey!);
    expect(verifier.name).toBe("witnz.example/node-a");
    expect(ed25519Verify(verifier.publicKey, message, ed25519Sign(privateKey, message))).toBe(true);
  });

  test("keygen refuses to overwrite an existing key and leaves it untouched", async () => {
    await writeFile(join(directory, "node.key"), "precious");
    const result = await witnz("keygen", "--out", directory);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `witnz: ${join(directory, "node.key")} already exists; refusing to overwrite a key\n`,
    );
    expect(await readFile(join(directory, "node.key"), "utf8")).toBe("precious");
    await expect(stat(join(directory, "node.pub"))).rejects.toThrow();
  });

  test("keygen refuses a key name with a space before writing anything", async () => {
    const result = await witnz("keygen", "--out", directory, "--name", "bad name");
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('witnz: key name "bad name" contains a space or a plus sign\n');
    await expect(stat(join(directory, "node.key"))).rejects.toThrow();
  });

  test("keygen without --out is a usage error", async () => {
    const result = await witnz("keygen");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("required option '-o, --out <dir>' not specified");
  });

  test("a bad configuration exits 2 with one line per problem and no stack trace", async () => {
    const file = join(directory, "witnz.yaml");
    await writeFile(
      file,
      "database:\n  database: mydb\n  user: witnz\n  port: 70000\nnode:\n  bootsrap: true\n  bind_addr: node1:7000\n  data_dir: /data\nprotected_tables:\n  - name: audit_log\n    verify_interval: 30 minutes\n",
    );
    const result = await witnz("start", "--config", file);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      [
        `witnz: ${file}: 3 configuration problems`,
        "  database.port: 70000 is out of range; allowed 1..65535",
        "  node.id: missing; required",
        '  protected_tables[0].verify_interval: "30 minutes" is not a duration; write e.g. "30m", "10s", "1h30m"',
        "  warning: unknown key node.bootsrap (ignored); did you mean node.bootstrap?",
        "",
      ].join("\n"),
    );
  });

  test("a missing configuration file is named with the system's reason", async () => {
    const result = await witnz("status", "--config", join(directory, "absent.yaml"));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${join(directory, "absent.yaml")}: cannot read the configuration file`,
    );
    expect(result.stderr).toContain("ENOENT");
  });

  test("verbs that need a configuration say so when none is given", async () => {
    const result = await witnz("verify");
    expect(result).toMatchObject({
      code: 2,
      stderr: "witnz: witnz verify needs --config FILE (or WITNZ_CONFIG)\n",
    });
  });

  test("certs writes a CA and node certificates it signed, and never overwrites", async () => {
    const out = join(directory, "tls");
    const result = await witnz("certs", "--out", out, "--nodes", "node1,node2");
    expect(result.code).toBe(0);
    const ca = new X509Certificate(await readFile(join(out, "ca.crt")));
    for (const node of ["node1", "node2"]) {
      const certificate = new X509Certificate(await readFile(join(out, `${node}.crt`)));
      expect(certificate.verify(ca.publicKey)).toBe(true);
      expect(certificate.subject).toContain(`CN=${node}`);
      expect(certificate.subjectAltName).toContain("IP Address:127.0.0.1");
      expect((await stat(join(out, `${node}.key`))).mode & 0o777).toBe(0o600);
    }
    const again = await witnz("certs", "--out", out, "--nodes", "node1");
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^witnz: refusing to overwrite .*ca\.crt/);
  });
});
