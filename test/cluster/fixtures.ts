// Shared helpers: nodes with fixed Ed25519 keys, signed observations and a machine driver.
import {
  formatVerifierKey,
  type NoteSigner,
  noteVerifier,
  SIGNATURE_TYPE_ED25519,
  signCheckpoint,
  tableOrigin,
  witnzExtensions,
} from "../../src/checkpoint/index.js";
import {
  type ClusterCommand,
  type ClusterEvent,
  ClusterStateMachine,
} from "../../src/cluster/index.js";
import {
  ed25519PrivateKeyFromSeed,
  ed25519PublicKeyFromRaw,
  ed25519PublicKeyRaw,
  sha256,
} from "../../src/crypto/index.js";

export const CLUSTER_ORIGIN = "witnz.example/cluster-1";
export const TABLE = "public.audit_log";

export interface TestNode {
  readonly id: string;
  readonly signer: NoteSigner;
  readonly verifierKey: string;
}

/** A node whose key comes from a fixed seed, so every run signs the same bytes. */
export function testNode(id: string): TestNode {
  const privateKey = ed25519PrivateKeyFromSeed(sha256(new TextEncoder().encode(`seed:${id}`)));
  const verifier = noteVerifier(
    id,
    SIGNATURE_TYPE_ED25519,
    ed25519PublicKeyFromRaw(ed25519PublicKeyRaw(privateKey)),
  );
  return { id, signer: { name: id, privateKey }, verifierKey: formatVerifierKey(verifier) };
}

export const hashOf = (text: string): Uint8Array => sha256(new TextEncoder().encode(text));

export interface CheckpointValues {
  readonly rootHash: Uint8Array;
  readonly chainHash: Uint8Array;
}

/** The honest value of `table` at `size`; a `variant` stands for a store altered on disk. */
export function valueAt(table: string, size: number, variant = "honest"): CheckpointValues {
  return {
    rootHash: hashOf(`root/${variant}/${table}/${size}`),
    chainHash: hashOf(`chain/${variant}/${table}/${size}`),
  };
}

export interface NoteOptions {
  readonly table?: string;
  readonly origin?: string;
  readonly size: number;
  readonly values?: CheckpointValues;
  readonly signer: NoteSigner;
}

export function signedNote(options: NoteOptions): string {
  const table = options.table ?? TABLE;
  const values = options.values ?? valueAt(table, options.size);
  return signCheckpoint(
    {
      origin: options.origin ?? tableOrigin(CLUSTER_ORIGIN, table),
      size: options.size,
      rootHash: values.rootHash,
      extensions: witnzExtensions({
        table,
        chainHash: values.chainHash,
        lsn: `0/${(options.size * 16).toString(16).toUpperCase()}`,
        timeMicroseconds: 1_763_891_200_000_000n + BigInt(options.size),
      }),
    },
    options.signer,
  );
}

export function observation(
  node: TestNode,
  size: number,
  variant = "honest",
  table = TABLE,
): ClusterCommand {
  return {
    type: "observation",
    node: node.id,
    table,
    size,
    note: signedNote({ table, size, values: valueAt(table, size, variant), signer: node.signer }),
  };
}

/** A machine and a log index counter: `run(command)` applies at the next index. */
export class Driver {
  readonly machine = new ClusterStateMachine({ clusterOrigin: CLUSTER_ORIGIN });
  private index = 0;

  run(...commands: ClusterCommand[]): ClusterEvent[] {
    return commands.flatMap((command) =>
      this.machine.apply(command, { index: ++this.index, term: 1 }),
    );
  }

  register(...nodes: TestNode[]): void {
    this.run(
      ...nodes.map(
        (node): ClusterCommand => ({
          type: "node_registered",
          node: node.id,
          verifierKey: node.verifierKey,
        }),
      ),
    );
  }
}

export const ofType = <T extends ClusterEvent["type"]>(
  events: readonly ClusterEvent[],
  type: T,
): Extract<ClusterEvent, { type: T }>[] =>
  events.filter((event): event is Extract<ClusterEvent, { type: T }> => event.type === type);
