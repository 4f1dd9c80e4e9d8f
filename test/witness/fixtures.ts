// Raft nodes as a witness sees them: an Ed25519 key and, per table, a real RFC 6962 tree and
// hash chain over data hashes, signing C2SP checkpoints and consistency proofs.
import {
  formatVerifierKey,
  type NoteSigner,
  noteVerifier,
  SIGNATURE_TYPE_ED25519,
  signCheckpoint,
  witnzExtensions,
} from "../../src/checkpoint/index.js";
import { generateEd25519KeyPair, sha256 } from "../../src/crypto/index.js";
import { chainHash, GENESIS_CHAIN_HASH } from "../../src/hash/index.js";
import { MerkleTree } from "../../src/merkle/index.js";
import { customerTableOrigin, type SubmitterObservation } from "../../src/witness/index.js";

export const CUSTOMER = "acme";
export const TABLE = "public.audit_log";

/** The row text a node hashed: tests assert it never reaches a witness. */
export const rowText = (index: number): string => `secret-row-${index}-salary-123456`;

export class FixtureNode {
  readonly signer: NoteSigner;
  readonly verifierKey: string;
  readonly #trees = new Map<string, { tree: MerkleTree; chain: Uint8Array[]; lastSize: number }>();

  constructor(
    readonly id: string,
    readonly customer: string = CUSTOMER,
  ) {
    const { privateKey, publicKey } = generateEd25519KeyPair();
    const name = `witnz/${customer}/node/${id}`;
    this.signer = { name, privateKey };
    this.verifierKey = formatVerifierKey(noteVerifier(name, SIGNATURE_TYPE_ED25519, publicKey));
  }

  #table(table: string) {
    let state = this.#trees.get(table);
    if (state === undefined) {
      state = { tree: MerkleTree.create(), chain: [GENESIS_CHAIN_HASH], lastSize: 0 };
      this.#trees.set(table, state);
    }
    return state;
  }

  /** Appends rows (their text is hashed; `tamper` alters what this node hashed for one row). */
  append(count: number, table = TABLE, tamper?: (index: number) => string | undefined): void {
    const state = this.#table(table);
    for (let i = 0; i < count; i++) {
      const index = state.tree.size + 1;
      const text = tamper?.(index) ?? rowText(index);
      const data = sha256(Buffer.from(text));
      state.tree.append(data);
      state.chain.push(chainHash(state.chain.at(-1)!, index, data));
    }
  }

  /** Forgets this node's rows of `table` (keeping what it last observed): a rewritten history. */
  rewrite(count: number, table: string, tamper: (index: number) => string | undefined): void {
    const state = this.#table(table);
    this.#trees.set(table, {
      tree: MerkleTree.create(),
      chain: [GENESIS_CHAIN_HASH],
      lastSize: state.lastSize,
    });
    this.append(count, table, tamper);
  }

  /** The node's signed checkpoint at its current size, with its proof from its last one. */
  observe(table = TABLE, timeMicroseconds = 1_700_000_000_000_000n): SubmitterObservation {
    const state = this.#table(table);
    const size = state.tree.size;
    const checkpoint = signCheckpoint(
      {
        origin: customerTableOrigin(this.customer, table),
        size,
        rootHash: state.tree.rootAt(size),
        extensions: witnzExtensions({
          table,
          chainHash: state.chain[size]!,
          lsn: `0/${(0x1000 + size).toString(16).toUpperCase()}`,
          timeMicroseconds,
        }),
      },
      this.signer,
    );
    const from = state.lastSize;
    state.lastSize = size;
    return {
      checkpoint,
      consistencyFromSize: from,
      consistencyProof: state.tree.consistencyProof(from, size),
    };
  }
}

/** A witness configuration for these nodes. */
export function witnessConfigYaml(options: {
  readonly id: string;
  readonly dataDir: string;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly nodes: readonly FixtureNode[];
  readonly timeout?: string;
  readonly webhookUrl?: string;
  /** Serve WitnzService over TLS with this certificate and key. */
  readonly tls?: { readonly certificatePath: string; readonly keyPath: string };
}): string {
  return [
    "node:",
    `  id: ${options.id}`,
    "  role: witness",
    `  grpc_addr: 127.0.0.1:${options.grpcPort}`,
    `  http_addr: 127.0.0.1:${options.httpPort}`,
    `  data_dir: ${JSON.stringify(options.dataDir)}`,
    "  log_level: warn",
    ...(options.tls === undefined
      ? []
      : [
          `  tls_cert_file: ${JSON.stringify(options.tls.certificatePath)}`,
          `  tls_key_file: ${JSON.stringify(options.tls.keyPath)}`,
        ]),
    "alerts:",
    "  enabled: true",
    ...(options.webhookUrl === undefined ? [] : ["  webhook:", `    url: ${options.webhookUrl}`]),
    "customers:",
    `  - id: ${CUSTOMER}`,
    "    nodes:",
    ...options.nodes.flatMap((node) => [
      `      - id: ${node.id}`,
      `        verifier_key: ${JSON.stringify(node.verifierKey)}`,
    ]),
    `hash_collection_timeout: ${options.timeout ?? "30s"}`,
    "",
  ].join("\n");
}
