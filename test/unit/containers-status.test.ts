// The human status text of docker ps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, statusText, type ContainerStateFields } from '../../src/daemon/containers/index.js';

const ZERO = '0001-01-01T00:00:00Z';
const base: ContainerStateFields = {
  Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '',
  StartedAt: ZERO, FinishedAt: ZERO,
};
const now = Date.parse('2024-05-01T12:00:00Z');
const ago = (ms: number): string => new Date(now - ms).toISOString();

test('humanDuration follows Go units.HumanDuration', () => {
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(3000), '3 seconds');
  assert.equal(humanDuration(61_000), 'About a minute');
  assert.equal(humanDuration(5 * 60_000), '5 minutes');
  assert.equal(humanDuration(60 * 60_000), 'About an hour');
  assert.equal(humanDuration(3 * 3_600_000), '3 hours');
  assert.equal(humanDuration(3 * 86_400_000), '3 days');
  assert.equal(humanDuration(21 * 86_400_000), '3 weeks');
  assert.equal(humanDuration(90 * 86_400_000), '3 months');
  assert.equal(humanDuration(3 * 365 * 86_400_000), '3 years');
});

test('status strings', () => {
  assert.equal(statusText(base, false, now), 'Created');
  assert.equal(statusText({ ...base, Running: true, StartedAt: ago(3000) }, false, now), 'Up 3 seconds');
  assert.equal(statusText({ ...base, Running: true, Paused: true, StartedAt: ago(1000) }, false, now), 'Up 1 second (Paused)');
  assert.equal(statusText({ ...base, StartedAt: ago(9000), FinishedAt: ago(2000), ExitCode: 3 }, false, now), 'Exited (3) 2 seconds ago');
  assert.equal(statusText({ ...base, StartedAt: ago(9000), FinishedAt: ago(2000) }, true, now), 'Removal In Progress');
  assert.equal(statusText({ ...base, Dead: true, StartedAt: ago(9000) }, false, now), 'Dead');
});
