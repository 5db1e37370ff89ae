// Public face of the tls module: transport security of the API's TCP hosts
// (settings from the configuration, the plain-TCP refusal, info warnings, and
// reading the certificate files).
export {
  tlsSettings,
  isLoopback,
  plaintextRefusal,
  refusesPlaintext,
  plaintextTcpErrors,
  endpointWarnings,
  type TlsSettings,
  type TlsConfigFields,
  type TcpEndpoint,
} from './settings.js';
export { loadTlsMaterial, MIN_TLS_VERSION, type TlsMaterial } from './material.js';
