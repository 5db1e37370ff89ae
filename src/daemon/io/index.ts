// Process I/O: FIFOs between berthd and the shim, json-file logs, attach,
// log reading, stdcopy framing.
export type { AttachOptions, FifoPaths, HijackedConnection, LogReadOptions, LogReader, OpenIOOptions, ProcessIO, ProcessIOOpener } from './types.js';
export { openProcessIO, type FifoMaker } from './process-io.js';
export { FifoPool, type FifoPoolOptions } from './fifo-pool.js';
export { readLogs } from './log-reader.js';
export type { LogFileOptions } from './log-writer.js';
export { CLIENT_BUFFER_CAP } from './output-client.js';
export { DEFAULT_DETACH_KEYS, parseDetachKeys } from './detach-keys.js';
export {
  STDIN,
  STDOUT,
  STDERR,
  SYSTEMERR,
  frame as stdcopyFrame,
  FrameDecoder as StdcopyDecoder,
  type DecodedFrame as StdFrame,
  type StreamId as StdStreamId,
} from '../../stdcopy/index.js';
export { encodeLogAttrs, encodeLogEntry, decodeLogEntry, decodeLogLines, LineSplitter, MAX_LOG_LINE, type LogEntry, type LoggedLine, type OutputStream } from './jsonlog.js';
export { formatRfc3339Nano, parseRfc3339Nano } from './timefmt.js';
export { nowNs } from '../../clock/index.js';
