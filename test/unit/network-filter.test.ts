// berth's forwarding rules: what each bridge lets in and out, the
// iptables-restore text, and where the jumps from FORWARD go.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filterPlan, jumpFixes, restoreInput } from '../../src/network/index.js';

const chains = { isolation: 'BERTH-ISOLATION-t1', forward: 'BERTH-FORWARD-t1' };
const line = (r: string[]): string => r.join(' ');

test('filter plan: a bridge takes its own, replies and published ports; lets its containers out', () => {
  const plan = filterPlan([{ dev: 'br-a', internal: false, icc: true }]);
  assert.deepEqual(plan.isolation.map(line), [
    '-i br-a -o br-a -j RETURN',
    '-o br-a -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN',
    '-o br-a -m conntrack --ctstate DNAT -j RETURN',
    '-o br-a -j DROP',
  ]);
  assert.deepEqual(plan.forward.map(line), [
    '-o br-a -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-i br-a -o br-a -j ACCEPT',
    '-o br-a -m conntrack --ctstate DNAT -j ACCEPT',
    '-i br-a -j ACCEPT',
  ]);
});

test('filter plan: icc=false drops within the bridge; --internal neither lets out nor takes published ports', () => {
  const plan = filterPlan([{ dev: 'br-i', internal: true, icc: false }]);
  assert.deepEqual(plan.isolation.map(line), [
    '-i br-i -o br-i -j DROP',
    '-o br-i -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN',
    '-o br-i -j DROP',
    '-i br-i -j DROP',
  ]);
  assert.deepEqual(plan.forward.map(line), ['-o br-i -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT']);
});

test('filter plan: traffic from one bridge to another meets the drop of the second before any accept', () => {
  const plan = filterPlan([
    { dev: 'br-a', internal: false, icc: true },
    { dev: 'br-b', internal: false, icc: true },
  ]);
  // A new connection br-a -> br-b: walk the isolation chain as the kernel does.
  const verdict = plan.isolation.find((r) => {
    const i = r.indexOf('-i');
    const o = r.indexOf('-o');
    if (i >= 0 && r[i + 1] !== 'br-a') return false;
    if (o >= 0 && r[o + 1] !== 'br-b') return false;
    return !r.includes('--ctstate');
  });
  assert.deepEqual(verdict, ['-o', 'br-b', '-j', 'DROP']);
  assert.equal(filterPlan([]).isolation.length, 0);
});

test('restore input: both chains declared (emptied) and filled in one transaction', () => {
  const text = restoreInput(chains, filterPlan([{ dev: 'br-a', internal: true, icc: true }]));
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], '*filter');
  assert.deepEqual(lines.slice(1, 3), [':BERTH-ISOLATION-t1 - [0:0]', ':BERTH-FORWARD-t1 - [0:0]']);
  assert.equal(lines.at(-1), 'COMMIT');
  assert.ok(lines.includes('-A BERTH-ISOLATION-t1 -i br-a -j DROP'));
  assert.ok(lines.includes('-A BERTH-FORWARD-t1 -i br-a -o br-a -j ACCEPT'));
  assert.ok(lines.every((l) => !l.includes('"')));
});

test('jumps: isolation among the isolation jumps FORWARD starts with, forward below; copies and misplaced jumps go', () => {
  const iso = '-A FORWARD -j BERTH-ISOLATION-t1';
  const fwd = '-A FORWARD -j BERTH-FORWARD-t1';
  const other = '-A FORWARD -j BERTH-ISOLATION-t2';
  const docker = '-A FORWARD -j DOCKER-USER';
  assert.deepEqual(jumpFixes([], chains), { remove: [], insertIsolation: true, appendForward: true });
  assert.deepEqual(jumpFixes([iso, docker, fwd], chains), { remove: [], insertIsolation: false, appendForward: false });
  // Another daemon's isolation jump on top: ours below it is still before every accept.
  assert.deepEqual(jumpFixes([other, iso, docker, fwd], chains), { remove: [], insertIsolation: false, appendForward: false });
  // dockerd started later and inserted its jumps above ours: ours moves up.
  assert.deepEqual(jumpFixes([docker, iso, fwd], chains), { remove: [['-j', 'BERTH-ISOLATION-t1']], insertIsolation: true, appendForward: false });
  assert.deepEqual(jumpFixes([iso, fwd, docker, fwd], chains), { remove: [['-j', 'BERTH-FORWARD-t1']], insertIsolation: false, appendForward: false });
});
