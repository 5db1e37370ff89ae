// Exit codes for an exec that could not be started, as dockerd reports them
// (and as the docker CLI then exits): 126 when the command cannot be invoked,
// 127 when it does not exist, 128 for anything else.
import { messageOf } from '../../errors/index.js';

const NOT_FOUND = ['executable file not found', 'no such file or directory', 'system cannot find the file specified', 'failed to run runc create/exec call'];

export function startErrorExitCode(err: unknown): number {
  const msg = messageOf(err).toLowerCase();
  if (msg.includes('permission denied') || msg.includes('is a directory')) return 126;
  if (msg.includes('not a directory')) return 127;
  if (NOT_FOUND.some((m) => msg.includes(m))) return 127;
  return 128;
}
