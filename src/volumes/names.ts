// Local volume names and driver options, as dockerd checks them. A valid name
// has no slash and does not start with a dot, so it never leaves
// <data-root>/volumes.
import { randomBytes } from 'node:crypto';
import { invalidParameter } from '../errors/index.js';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function validateVolumeName(name: string): void {
  if (name.length === 1) throw invalidParameter('volume name is too short, names should be at least two alphanumeric characters');
  if (!NAME.test(name)) {
    throw invalidParameter(
      `${JSON.stringify(name)} includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
}

export function anonymousVolumeName(): string {
  return randomBytes(32).toString('hex');
}

const LOCAL_OPTIONS = new Set(['type', 'device', 'o']);

/** The local driver's options: mount(8)'s type, device and o. */
export function validateLocalOptions(opts: Readonly<Record<string, string>>): void {
  for (const key of Object.keys(opts)) {
    if (!LOCAL_OPTIONS.has(key)) throw invalidParameter(`invalid option: ${JSON.stringify(key)}`);
  }
  if ((opts.type ?? '') !== '' && (opts.device ?? '') === '') throw invalidParameter('missing required option: "device"');
  if ((opts.device ?? '') !== '' && (opts.type ?? '') === '') throw invalidParameter('missing required option: "type"');
}

/** mount(8) arguments of a volume with options; undefined when it is a plain directory. */
export function localMountArgs(opts: Readonly<Record<string, string>> | null, target: string): string[] | undefined {
  if (opts === null || (opts.type ?? '') === '') return undefined;
  const args = ['-t', opts.type as string];
  if ((opts.o ?? '') !== '') args.push('-o', opts.o as string);
  args.push(opts.device as string, target);
  return args;
}
