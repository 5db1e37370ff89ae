// sd_notify for systemd's Type=notify. Node has no Unix datagram sockets, so
// the message goes through a small sender process (systemd-notify or socat);
// the unit sets NotifyAccess=all so systemd accepts it from that process.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export type NotifyState = 'READY=1' | 'RELOADING=1' | 'STOPPING=1' | string;

function which(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

/** The notification payload systemd expects: newline-separated assignments. */
export function notifyPayload(states: readonly NotifyState[], mainPid: number, monotonicUsec?: bigint): string {
  const lines = [...states, `MAINPID=${mainPid}`];
  if (monotonicUsec !== undefined && states.includes('RELOADING=1')) lines.push(`MONOTONIC_USEC=${monotonicUsec}`);
  return lines.join('\n') + '\n';
}

/** socat address for a NOTIFY_SOCKET value ('@name' is an abstract socket). */
export function socatAddress(socket: string): string {
  return socket.startsWith('@') ? `ABSTRACT-SENDTO:${socket.slice(1)}` : `UNIX-SENDTO:${socket}`;
}

export class Notifier {
  private readonly socket: string | undefined;
  private readonly sender: string | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(socket: string | undefined = process.env.NOTIFY_SOCKET) {
    this.socket = socket !== undefined && socket !== '' ? socket : undefined;
    this.sender = this.socket === undefined ? undefined : which('socat') ?? which('systemd-notify');
  }

  get enabled(): boolean {
    return this.socket !== undefined && this.sender !== undefined;
  }

  /** Sends in order; never throws (a missing systemd must not break the daemon). */
  notify(...states: NotifyState[]): Promise<void> {
    const socket = this.socket;
    const sender = this.sender;
    if (socket === undefined || sender === undefined) return Promise.resolve();
    const payload = notifyPayload(states, process.pid, process.hrtime.bigint() / 1000n);
    this.queue = this.queue.then(
      () =>
        new Promise<void>((resolve) => {
          const isSocat = sender.endsWith('socat');
          const args = isSocat ? ['-u', 'STDIN', socatAddress(socket)] : [`--pid=${process.pid}`, ...payload.trim().split('\n')];
          const child = execFile(sender, args, { env: { ...process.env, NOTIFY_SOCKET: socket }, timeout: 5000 }, () => resolve());
          if (isSocat) child.stdin?.end(payload);
          else child.stdin?.end();
        }),
    );
    return this.queue;
  }
}

export { takeListenFds, selectListenFds, unixSocketPathOfFd, unixPathByInode, SD_LISTEN_FDS_START } from './listen-fds.js';
