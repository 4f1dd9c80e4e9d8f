// Development certificates for the Raft transport's mutual TLS (`witnz certs`).
export {
  CERTIFICATE_VALIDITY_DAYS_DEFAULT,
  createDevelopmentCertificates,
  type DevelopmentCertificates,
  type DevelopmentCertificatesOptions,
  NODES_MAX,
  type NodeCertificateFiles,
} from "./development-certificates.js";
export { CertsError, type CertsErrorCode } from "./errors.js";
