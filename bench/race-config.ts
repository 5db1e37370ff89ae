// The daemon.json configurations the race harness alternates between:
// `wrapped`'s args change every step (three ways, including none), `flip`
// is removed and re-added, and the default runtime moves between `runc`
// and `wrapped` — every kind of change a reload can make to a runtime.

export const RUNC = '/usr/sbin/runc';

/** Runtimes the clients ask for, in rotation; '' sends no --runtime, so the changing default is raced too. */
export const RACE_RUNTIMES = ['runc', 'wrapped', 'flip', 'io.containerd.runc.v2', ''] as const;
export type RaceRuntime = (typeof RACE_RUNTIMES)[number];

/** The runtime that disappears on odd steps: requests naming it may fail, documented. */
export const FLIP = 'flip';

const WRAPPED_ARGS: readonly (readonly string[])[] = [['--debug'], ['--log-format', 'json'], []];

export interface RaceStep {
  config: Record<string, unknown>;
  flipPresent: boolean;
  defaultRuntime: string;
}

/** Step 0 is the configuration before the first reload. */
export function raceStep(i: number, runc: string = RUNC): RaceStep {
  const args = WRAPPED_ARGS[i % WRAPPED_ARGS.length]!;
  const flipPresent = i % 2 === 0;
  const defaultRuntime = Math.floor(i / 2) % 2 === 0 ? 'runc' : 'wrapped';
  const runtimes: Record<string, unknown> = {
    wrapped: args.length > 0 ? { path: runc, runtimeArgs: [...args] } : { path: runc },
  };
  if (flipPresent) runtimes[FLIP] = { path: runc, runtimeArgs: ['--log-format', 'text'] };
  return { config: { runtimes, 'default-runtime': defaultRuntime }, flipPresent, defaultRuntime };
}
