// `witnz certs --out DIR --nodes a,b,c`: a development CA and one certificate per node for the
// Raft transport's mutual TLS. node:crypto signs but cannot issue X.509 certificates; the
// `openssl` command (present on every Debian-based image) issues them. Keys are P-256.
import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CertsError } from "./errors.js";

/** Development certificates are valid for about two years (the browsers' old maximum). */
export const CERTIFICATE_VALIDITY_DAYS_DEFAULT = 825;
/** One CA signs at most this many node certificates per call. */
export const NODES_MAX = 64;
/** How long one openssl run may take. */
const OPENSSL_TIMEOUT_MS = 30_000;
const NODE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/;

export interface DevelopmentCertificatesOptions {
  readonly outDirectory: string;
  /** Node names: each becomes the certificate's CN and a DNS name in its SAN. */
  readonly nodes: readonly string[];
  readonly validityDays?: number;
}

export interface NodeCertificateFiles {
  readonly node: string;
  readonly certificatePath: string;
  readonly keyPath: string;
}

export interface DevelopmentCertificates {
  readonly caCertificatePath: string;
  readonly caKeyPath: string;
  readonly nodes: readonly NodeCertificateFiles[];
}

/**
 * Writes `ca.crt`, `ca.key`, and `<node>.crt`, `<node>.key` for every node into
 * `outDirectory` (created if needed; keys mode 0600). Each node certificate is signed by the
 * CA, names 127.0.0.1, localhost and the node name, and serves as both TLS server and client.
 * Existing files are never overwritten.
 */
export async function createDevelopmentCertificates(
  options: DevelopmentCertificatesOptions,
): Promise<DevelopmentCertificates> {
  const { outDirectory, nodes } = options;
  const validityDays = options.validityDays ?? CERTIFICATE_VALIDITY_DAYS_DEFAULT;
  if (!Number.isSafeInteger(validityDays) || validityDays < 1 || validityDays > 3650) {
    throw new CertsError(
      "WITNZ_CERTS_INVALID",
      `validity must be 1 to 3650 days, got ${validityDays}`,
    );
  }
  if (nodes.length === 0 || nodes.length > NODES_MAX) {
    throw new CertsError(
      "WITNZ_CERTS_INVALID",
      `name 1 to ${NODES_MAX} nodes, got ${nodes.length}`,
    );
  }
  for (const node of nodes) {
    if (!NODE_NAME_PATTERN.test(node) || node === "ca") {
      throw new CertsError(
        "WITNZ_CERTS_INVALID",
        `"${node}" is not a usable node name: letters, digits, dots and dashes, not "ca"`,
      );
    }
  }
  if (new Set(nodes).size !== nodes.length) {
    throw new CertsError("WITNZ_CERTS_INVALID", "node names repeat");
  }
  const caCertificatePath = join(outDirectory, "ca.crt");
  const caKeyPath = join(outDirectory, "ca.key");
  const nodeFiles = nodes.map((node) => ({
    node,
    certificatePath: join(outDirectory, `${node}.crt`),
    keyPath: join(outDirectory, `${node}.key`),
  }));
  const targets = [
    caCertificatePath,
    caKeyPath,
    ...nodeFiles.flatMap((f) => [f.certificatePath, f.keyPath]),
  ];
  const existing = targets.filter((path) => existsSync(path));
  if (existing.length > 0) {
    throw new CertsError(
      "WITNZ_CERTS_EXISTS",
      `refusing to overwrite ${existing.join(", ")}; choose an empty directory`,
    );
  }
  await mkdir(outDirectory, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), "witnz-certs-"));
  try {
    const configPath = join(work, "openssl.cnf");
    await writeFile(configPath, opensslConfig(nodes));
    await writePrivateKey(caKeyPath);
    await openssl([
      "req",
      "-x509",
      "-new",
      "-config",
      configPath,
      "-extensions",
      "ca_extensions",
      "-key",
      caKeyPath,
      "-subj",
      "/CN=Witnz development CA",
      "-days",
      String(validityDays),
      "-sha256",
      "-out",
      caCertificatePath,
    ]);
    for (const [position, files] of nodeFiles.entries()) {
      const requestPath = join(work, `${position}.csr`);
      await writePrivateKey(files.keyPath);
      await openssl([
        "req",
        "-new",
        "-config",
        configPath,
        "-key",
        files.keyPath,
        "-subj",
        `/CN=${files.node}`,
        "-sha256",
        "-out",
        requestPath,
      ]);
      await openssl([
        "x509",
        "-req",
        "-in",
        requestPath,
        "-CA",
        caCertificatePath,
        "-CAkey",
        caKeyPath,
        "-set_serial",
        `0x${randomBytes(16).toString("hex")}`,
        "-days",
        String(validityDays),
        "-sha256",
        "-extfile",
        configPath,
        "-extensions",
        `node_extensions_${position}`,
        "-out",
        files.certificatePath,
      ]);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { caCertificatePath, caKeyPath, nodes: nodeFiles };
}

function opensslConfig(nodes: readonly string[]): string {
  const lines = [
    "[req]",
    "distinguished_name = distinguished_name",
    "prompt = no",
    "[distinguished_name]",
    "CN = unused",
    "[ca_extensions]",
    "basicConstraints = critical, CA:TRUE, pathlen:0",
    "keyUsage = critical, keyCertSign, cRLSign",
    "subjectKeyIdentifier = hash",
  ];
  for (const [position, node] of nodes.entries()) {
    lines.push(
      `[node_extensions_${position}]`,
      "basicConstraints = critical, CA:FALSE",
      "keyUsage = critical, digitalSignature",
      "extendedKeyUsage = serverAuth, clientAuth",
      `subjectAltName = IP:127.0.0.1, DNS:localhost, DNS:${node}`,
      "subjectKeyIdentifier = hash",
      "authorityKeyIdentifier = keyid",
    );
  }
  return `${lines.join("\n")}\n`;
}

async function writePrivateKey(path: string): Promise<void> {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  await writeFile(path, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  await chmod(path, 0o600);
}

function openssl(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("openssl", args, { timeout: OPENSSL_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (error === null) {
        resolve();
        return;
      }
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
      reject(
        new CertsError(
          "WITNZ_CERTS_OPENSSL",
          missing
            ? "the openssl command is needed to issue certificates; install it (apt-get install openssl)"
            : `openssl ${args[0]} failed: ${String(stderr).trim()}`,
          { cause: error },
        ),
      );
    });
  });
}
