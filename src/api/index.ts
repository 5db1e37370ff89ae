// Public face of the Engine API layer.
export type { Handler, HijackedConnection, Reply, RequestContext, Route } from './types.js';
export { createApiServer, type ApiServer, type ApiServerOptions } from './server.js';
export { Router, compileRoute, type RouteMatch } from './router.js';
export { MAX_API_VERSION, MIN_API_VERSION, compareVersions, negotiateVersion, splitVersionPrefix } from './version.js';
export { errorReply, statusOfKind, type ErrorReply } from './status.js';
export { DEFAULT_MAX_JSON_BODY } from './body.js';
export { boolQuery, checkFilterNames, intQuery, parseFilters, type Filters, type IntQueryOptions } from './query.js';
export { parseTimestampNs, timestampQuery } from './timestamp.js';
export {
  asObject,
  optionalBool,
  optionalInt,
  optionalObject,
  optionalString,
  optionalStringArray,
  optionalStringMap,
  requireString,
  type IntRange,
  type JsonObject,
} from './validate.js';
export {
  DEFAULT_MAX_FRAME,
  FrameDecoder,
  FrameEncoder,
  HEADER_SIZE,
  STDERR,
  STDIN,
  STDOUT,
  SYSTEMERR,
  demux,
  frame,
  frameHeader,
  frames,
  type DecodedFrame,
  type StreamId,
} from '../stdcopy/index.js';
export { parseHost, resolveGroup, SOCKET_MODE, type ListenAddress } from './listen.js';
export {
  dockerArch,
  systemRoutes,
  versionBody,
  type ComponentVersion,
  type SystemBackend,
  type VersionInfo,
} from './routes/system.js';
export { eventsRoute } from './routes/events.js';
export { eventFilter, EVENT_FILTERS, stripTag, type EventPredicate } from './routes/event-filter.js';
