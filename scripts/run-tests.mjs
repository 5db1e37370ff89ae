#!/usr/bin/env node
// Runs the compiled test suite with Node's own runner: unit tests in parallel,
// end-to-end tests (real berthd + containerd) a few at a time.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const only = process.argv.slice(2);
const pick = (files) => (only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files);
const unit = pick(find('dist/test/unit'));
const e2e = pick(find('dist/test/e2e'));
const files = [...unit, ...e2e];
if (files.length === 0) {
  console.error('no test files found under dist/test (did the build run?)');
  process.exit(1);
}
const concurrency = process.env.BERTH_TEST_CONCURRENCY ?? '2';
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], {
  stdio: 'inherit',
});
// The CNI plugins' chains shared by all test roots go once every test is done.
try {
  const network = await import('../dist/test/helpers/network.js');
  network.removeSharedCniChains();
} catch (err) {
  console.error(`removing the shared CNI chains failed: ${err instanceof Error ? err.message : String(err)}`);
}
process.exit(r.status ?? 1);
