// The node's start-up errors, and host:port parsing shared by its listeners.

export class NodeStartError extends Error {
  readonly code:
    | "WITNZ_NODE_STORE_CORRUPT"
    | "WITNZ_NODE_CLUSTER_CONFIG"
    | "WITNZ_NODE_STORE_LOST"
    | "WITNZ_NODE_RESTORE_UNFINISHED";
  constructor(code: NodeStartError["code"], message: string) {
    super(message);
    this.name = "NodeStartError";
    this.code = code;
  }
}

/** `host:port` or `[v6]:port` into its parts. */
export function splitHostPort(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  if (match === null) throw new Error(`${address} is not host:port`);
  return { host: match[1] ?? match[2]!, port: Number(match[3]) };
}
