// The development CA and node certificates, checked with node:crypto's X.509 parser.
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { CertsError, createDevelopmentCertificates } from "../../src/certs/index.js";

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0))
    rmSync(directory, { recursive: true, force: true });
});
function outDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), "witnz-certs-test-"));
  directories.push(directory);
  return join(directory, "certs");
}

test("a CA and per-node certificates for 127.0.0.1, localhost and the node name", async () => {
  const out = outDirectory();
  const result = await createDevelopmentCertificates({
    outDirectory: out,
    nodes: ["a", "b", "node-3"],
  });
  const ca = new X509Certificate(readFileSync(result.caCertificatePath));
  expect(ca.ca).toBe(true);
  expect(ca.subject).toContain("CN=Witnz development CA");
  for (const files of result.nodes) {
    const certificate = new X509Certificate(readFileSync(files.certificatePath));
    expect(certificate.ca).toBe(false);
    expect(certificate.subject).toBe(`CN=${files.node}`);
    expect(certificate.checkIssued(ca)).toBe(true);
    expect(certificate.verify(ca.publicKey)).toBe(true);
    expect(certificate.subjectAltName).toBe(
      `IP Address:127.0.0.1, DNS:localhost, DNS:${files.node}`,
    );
    // serverAuth and clientAuth.
    expect(certificate.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    expect(statSync(files.keyPath).mode & 0o777).toBe(0o600);
  }
});

test("never overwrites, and refuses bad node names", async () => {
  const out = outDirectory();
  await createDevelopmentCertificates({ outDirectory: out, nodes: ["a"] });
  await expect(
    createDevelopmentCertificates({ outDirectory: out, nodes: ["a"] }),
  ).rejects.toMatchObject({
    code: "WITNZ_CERTS_EXISTS",
  });
  for (const nodes of [[], ["a b"], ["ca"], ["a", "a"]]) {
    const error = await createDevelopmentCertificates({
      outDirectory: outDirectory(),
      nodes,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CertsError);
    expect((error as CertsError).code).toBe("WITNZ_CERTS_INVALID");
  }
});
