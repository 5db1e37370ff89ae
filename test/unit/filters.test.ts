// Filter value matching shared by list, prune and events endpoints, and the
// docker ps filters that look at networks and ports.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { labelMatches, labelsSelect, parsePortFilter, portFilterMatches, splitPortKey, untilMs } from '../../src/filters/index.js';
import { compileFilters, type Container, type ListNetView } from '../../src/daemon/containers/index.js';
import { isKind } from '../../src/errors/index.js';

describe('labels', () => {
  const labels = { a: '1', b: '', 'x=y': 'z' };
  it('matches a key alone, or a key with its value', () => {
    assert.equal(labelMatches(labels, 'a'), true);
    assert.equal(labelMatches(labels, 'a=1'), true);
    assert.equal(labelMatches(labels, 'a=2'), false);
    assert.equal(labelMatches(labels, 'b='), true);
    assert.equal(labelMatches(labels, 'c'), false);
    assert.equal(labelMatches(null, 'a'), false);
    assert.equal(labelMatches({ toString: 'x' } as unknown as Record<string, string>, 'constructor'), false);
  });
  it('needs every label and none of label!', () => {
    assert.equal(labelsSelect(labels, ['a', 'b']), true);
    assert.equal(labelsSelect(labels, ['a', 'c']), false);
    assert.equal(labelsSelect(labels, ['a'], ['b=']), false);
    assert.equal(labelsSelect(labels, [], ['c']), true);
  });
});

describe('until', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  it('takes unix seconds, RFC 3339 times and Go durations', () => {
    assert.equal(untilMs('1714564800', now), now);
    assert.equal(untilMs('1714564800.5', now), now + 500);
    assert.equal(untilMs('2024-05-01T11:00:00Z', now), now - 3_600_000);
    assert.equal(untilMs('10m', now), now - 600_000);
    assert.equal(untilMs('1h30m', now), now - 5_400_000);
    assert.equal(untilMs('1.5s', now), now - 1500);
  });
  it('refuses anything else with a 400', () => {
    assert.throws(() => untilMs('yesterday', now), (e: unknown) => isKind(e, 'invalid-parameter') && /until=yesterday/.test((e as Error).message));
  });
});

describe('ports', () => {
  it('parses port, range and protocol; tcp by default', () => {
    assert.deepEqual(parsePortFilter('publish', '80'), { start: 80, end: 80, proto: 'tcp' });
    assert.deepEqual(parsePortFilter('publish', '8000-8080/udp'), { start: 8000, end: 8080, proto: 'udp' });
    assert.deepEqual(splitPortKey('53/udp'), { port: 53, proto: 'udp' });
    assert.deepEqual(splitPortKey('80'), { port: 80, proto: 'tcp' });
  });
  it("refuses a ':' and bad ranges as dockerd words it", () => {
    assert.throws(() => parsePortFilter('publish', '127.0.0.1:80'), /filter for 'publish' should not contain ':': 127.0.0.1:80/);
    assert.throws(() => parsePortFilter('expose', '90-80'), (e: unknown) => isKind(e, 'invalid-parameter'));
    assert.throws(() => parsePortFilter('expose', 'http'), /error while looking up for expose http/);
    assert.throws(() => parsePortFilter('expose', '70000'), (e: unknown) => isKind(e, 'invalid-parameter'));
  });
  it('matches within the range and the protocol only', () => {
    const f = parsePortFilter('publish', '8000-8080');
    assert.equal(portFilterMatches(f, 8000, 'tcp'), true);
    assert.equal(portFilterMatches(f, 8080, 'TCP'), true);
    assert.equal(portFilterMatches(f, 8081, 'tcp'), false);
    assert.equal(portFilterMatches(f, 8000, 'udp'), false);
  });
});

describe('docker ps filters on networks and ports', () => {
  // Only what the filters read of a container.
  const container = (id: string, exposed: string[], mode = 'default'): Container =>
    ({
      id,
      name: id,
      state: { Config: { ExposedPorts: Object.fromEntries(exposed.map((p) => [p, {}])), Labels: {} }, HostConfig: { NetworkMode: mode } },
      isRunning: () => true,
      stateName: () => 'running',
    }) as unknown as Container;
  const web = container('web', ['80/tcp', '443/tcp']);
  const dns = container('dns', ['53/udp'], 'front');
  const views = new Map<Container, ListNetView>([
    [web, { Ports: [{ IP: '127.0.0.1', PrivatePort: 80, PublicPort: 18080, Type: 'tcp' }, { PrivatePort: 443, Type: 'tcp' }], Networks: { bridge: { NetworkID: 'aaa111' }, back: { NetworkID: 'bbb222' } } }],
    [dns, { Ports: [{ IP: '127.0.0.1', PrivatePort: 53, PublicPort: 5353, Type: 'udp' }], Networks: { front: { NetworkID: 'ccc333' } } }],
  ]);
  const pick = (filters: Record<string, string[]>): string[] => {
    const f = compileFilters(new Map(Object.entries(filters)), () => web, (c) => views.get(c));
    return [web, dns].filter((c) => f.test(c)).map((c) => c.id);
  };
  it('publish matches the host port, expose the container port', () => {
    assert.deepEqual(pick({ publish: ['18080'] }), ['web']);
    assert.deepEqual(pick({ publish: ['80'] }), []);
    assert.deepEqual(pick({ publish: ['5000-6000/udp'] }), ['dns']);
    assert.deepEqual(pick({ publish: ['5353/tcp'] }), []);
    assert.deepEqual(pick({ expose: ['443'] }), ['web']);
    assert.deepEqual(pick({ expose: ['50-100/udp'] }), ['dns']);
    assert.deepEqual(pick({ expose: ['50-100'] }), ['web']);
  });
  it('network matches any network by name or ID prefix', () => {
    assert.deepEqual(pick({ network: ['back'] }), ['web']);
    assert.deepEqual(pick({ network: ['ccc'] }), ['dns']);
    assert.deepEqual(pick({ network: ['bridge', 'front'] }), ['web', 'dns']);
    assert.deepEqual(pick({ network: ['nope'] }), []);
  });
});
