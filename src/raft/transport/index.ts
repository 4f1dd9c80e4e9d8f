// The Raft transport over ConnectRPC, HTTP/2 and mutual TLS.
export {
  ConnectRaftTransport,
  type ConnectTransportOptions,
  type JoinHandler,
  PEER_QUEUE_MESSAGES_MAX,
  PROPOSE_BYTES_MAX,
  type ProposalHandler,
  SEND_BATCH_MESSAGES_MAX,
  SEND_BYTES_MAX,
  SEND_TIMEOUT_MS,
  type SeedChunks,
  type SeedHandler,
  type TlsFiles,
} from "./connect-transport.js";
export { decodeMessage, encodeMessage } from "./message-codec.js";
