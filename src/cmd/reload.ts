// `berthd reload`: ask the running berthd to reload and wait for the outcome.
import { request } from 'node:http';
import { parseHost } from '../api/index.js';
import type { ReloadView } from '../api/routes/reload.js';

export interface ReloadCommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

function post(socketPath: string, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: 'POST', path, headers: { 'Content-Length': 0 } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Pure: the text printed for an outcome. */
export function formatReload(view: ReloadView): ReloadCommandResult {
  if (!view.ok) {
    const lines = [`configuration reload from ${view.configFile} refused; the running configuration is unchanged:`, ...view.errors.map((e) => `  ${e}`)];
    return { exitCode: 1, stdout: '', stderr: lines.join('\n') + '\n' };
  }
  const lines = [
    `configuration reloaded from ${view.configFile} (generation ${view.generation})`,
    `default runtime: ${view.defaultRuntime}`,
    `runtimes: ${view.runtimes.join(', ')}`,
  ];
  const warn = view.ignored.length > 0 ? `ignored until berthd restarts: ${view.ignored.join(', ')}\n` : '';
  return { exitCode: 0, stdout: lines.join('\n') + '\n', stderr: warn };
}

export async function runReload(host: string, timeoutMs = 60_000): Promise<ReloadCommandResult> {
  const address = parseHost(host);
  if (address.kind !== 'unix') return { exitCode: 2, stdout: '', stderr: `berthd reload needs a unix:// host, got ${host}\n` };
  let res: { status: number; body: string };
  try {
    res = await post(address.path, '/berth/reload', timeoutMs);
  } catch (err) {
    return { exitCode: 2, stdout: '', stderr: `cannot reach berthd at ${host}: ${(err as Error).message}; is it running?\n` };
  }
  if (res.status !== 200) {
    let message = res.body;
    try {
      message = (JSON.parse(res.body) as { message?: string }).message ?? res.body;
    } catch {
      /* not JSON */
    }
    return { exitCode: 2, stdout: '', stderr: `berthd answered ${res.status}: ${message}\n` };
  }
  return formatReload(JSON.parse(res.body) as ReloadView);
}
