// Public face of the registry client: hosts built from one configuration
// snapshot, a repository client (resolve, fetch, push), auth helpers.
export { Authorizer, basicCredentials, decodeRegistryAuth, parseChallenges } from './auth.js';
export { isIndexMediaType, isSchema1MediaType, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, MEDIA, Repository, SCHEMA1_REMOVED, sha256, type RepositoryOptions } from './client.js';
export { describeErrors, parseErrorBody, RegistryError } from './errors.js';
export { HUB_DOMAIN, normalizeInsecureEntry, normalizeMirror, readCertsDir, RegistryHosts, type Endpoint } from './hosts.js';
export { Limiter } from './limit.js';
export { login, loginHost, type LoginResult } from './login.js';
export { chooseManifest, formatPlatform } from './platforms.js';
export { HUB_SEARCH_UNSUPPORTED, matchCatalog, searchLimit, searchRegistry, splitSearchTerm, type SearchOptions, type SearchResult } from './search.js';
export type { AuthConfig, Descriptor, Platform, RegistryConfigView, RegistrySettings } from './types.js';
