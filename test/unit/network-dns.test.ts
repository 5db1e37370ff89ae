// The embedded resolver's answers (pure): names the networks own, other
// types of a known name, names to forward, error answers, upstream parsing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as packet from 'dns-packet';
import { errorAnswer, localAnswer, parseUpstream, ptrAddress, resolvConfServers, reverseAnswer } from '../../src/network/index.js';

const query = (name: string, type: packet.RecordType = 'A'): packet.DecodedPacket =>
  packet.decode(packet.encode({ type: 'query', id: 4242, flags: packet.RECURSION_DESIRED, questions: [{ type, name }] }));

const names: Record<string, string[]> = { web: ['10.0.0.2', '10.0.0.3'], db: ['10.0.0.9'] };
const lookup = (n: string): string[] | undefined => names[n];

test('A of a known name: every address, same id, authoritative', () => {
  const reply = packet.decode(localAnswer(query('Web.'), lookup)!);
  assert.equal(reply.id, 4242);
  assert.equal(reply.type, 'response');
  assert.ok(reply.flag_aa);
  assert.ok(reply.flag_rd);
  assert.deepEqual(reply.answers?.map((a) => (a as { data: string }).data).sort(), ['10.0.0.2', '10.0.0.3']);
  assert.equal((reply.answers?.[0] as { ttl: number }).ttl, 600);
});

test('AAAA of a known name: NOERROR without answers; an unknown name is not ours', () => {
  const reply = packet.decode(localAnswer(query('db', 'AAAA'), lookup)!);
  assert.equal(reply.flags! & 0xf, 0);
  assert.deepEqual(reply.answers, []);
  assert.equal(localAnswer(query('example.org'), lookup), undefined);
});

test('error answers keep the id and question', () => {
  const raw = packet.encode({ type: 'query', id: 7, flags: packet.RECURSION_DESIRED, questions: [{ type: 'A', name: 'x.example' }] });
  const reply = packet.decode(errorAnswer(raw, 2)!);
  assert.equal(reply.id, 7);
  assert.equal(reply.flags! & 0xf, 2);
  assert.equal(reply.questions?.[0]?.name, 'x.example');
  assert.equal(errorAnswer(Buffer.from([1, 2, 3]), 2), undefined);
});

test('upstreams: IP, IP:PORT; the servers of a resolv.conf (three at most)', () => {
  assert.deepEqual(parseUpstream('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
  assert.deepEqual(parseUpstream('10.0.0.1'), { host: '10.0.0.1', port: 53 });
  assert.deepEqual(resolvConfServers('# x\nnameserver 1.1.1.1\nsearch a\nnameserver 2.2.2.2\nnameserver 3.3.3.3\nnameserver 4.4.4.4\n'), ['1.1.1.1', '2.2.2.2', '3.3.3.3']);
});

test('PTR of an address the networks own: NAME.NETWORK; others are not ours', () => {
  assert.equal(ptrAddress('2.0.0.10.in-addr.arpa'), '10.0.0.2');
  assert.equal(ptrAddress('example.org'), undefined);
  const reverse = (ip: string): string | undefined => (ip === '10.0.0.2' ? 'web.net1' : undefined);
  const reply = packet.decode(reverseAnswer(query('2.0.0.10.in-addr.arpa', 'PTR'), reverse)!);
  assert.equal((reply.answers?.[0] as { data: string }).data, 'web.net1');
  assert.equal(reverseAnswer(query('9.9.9.9.in-addr.arpa', 'PTR'), reverse), undefined);
  assert.equal(reverseAnswer(query('web', 'A'), reverse), undefined);
});
