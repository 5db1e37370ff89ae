// Pure pieces of the containerd client: gRPC status → error kind, Any and
// Timestamp conversions, record conversions and task event decoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { fromGrpcError, kindForStatus, statusCode } from '../../src/containerd/errors.js';
import {
  anyTypeName,
  decodeJsonAny,
  fromTimestamp,
  fromWireAny,
  fromWireContainer,
  fromWireDescriptor,
  fromWireMount,
  fromWireProcess,
  jsonAny,
  processStatus,
  toTimestamp,
  toWireAny,
  toWireContainer,
  toWireDescriptor,
  toWireMount,
} from '../../src/containerd/convert.js';
import { decodeEnvelope, decodeTaskEvent } from '../../src/containerd/events.js';
import { messageCodec } from '../../src/containerd/proto.js';
import { OCI_SPEC_TYPE_URL } from '../../src/containerd/index.js';
import { BerthError } from '../../src/errors/index.js';

function grpcError(code: number, details: string): Error & { code: number; details: string } {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details });
}

test('gRPC status codes map to error kinds', () => {
  assert.equal(kindForStatus(status.NOT_FOUND), 'not-found');
  assert.equal(kindForStatus(status.ALREADY_EXISTS), 'conflict');
  assert.equal(kindForStatus(status.FAILED_PRECONDITION), 'conflict');
  assert.equal(kindForStatus(status.UNAVAILABLE), 'unavailable');
  assert.equal(kindForStatus(status.DEADLINE_EXCEEDED), 'unavailable');
  assert.equal(kindForStatus(status.INVALID_ARGUMENT), 'invalid-parameter');
  for (const code of [status.UNKNOWN, status.INTERNAL, status.UNIMPLEMENTED, status.OUT_OF_RANGE, status.PERMISSION_DENIED]) {
    assert.equal(kindForStatus(code), 'internal');
  }
});

test("errors carry containerd's message without the grpc prefix", () => {
  const err = fromGrpcError(grpcError(status.NOT_FOUND, 'container "x" in namespace "berth": not found'), '/run/c.sock');
  assert.ok(err instanceof BerthError);
  assert.equal(err.kind, 'not-found');
  assert.equal(err.message, 'container "x" in namespace "berth": not found');
  assert.equal(statusCode(err), status.NOT_FOUND);

  const noDetails = fromGrpcError(Object.assign(new Error('3 INVALID_ARGUMENT: bad name'), { code: 3 }), '/s');
  assert.equal(noDetails.message, 'bad name');
  assert.equal(noDetails.kind, 'invalid-parameter');
});

test('a transport failure says which socket is unreachable', () => {
  const err = fromGrpcError(grpcError(status.UNAVAILABLE, 'No connection established. Last error: connect ENOENT /run/c.sock'), '/run/c.sock');
  assert.equal(err.kind, 'unavailable');
  assert.match(err.message, /^containerd is not reachable at \/run\/c\.sock/);
  // containerd's own "unavailable" answers keep their text.
  const locked = fromGrpcError(grpcError(status.UNAVAILABLE, 'ref default/1/x locked for 1s: unavailable'), '/run/c.sock');
  assert.equal(locked.message, 'ref default/1/x locked for 1s: unavailable');
  assert.equal(fromGrpcError(new Error('boom'), '/s').kind, 'internal');
  const already = new BerthError('conflict', 'kept');
  assert.equal(fromGrpcError(already, '/s'), already);
});

test('Any converts both ways and type names are found in type URLs', () => {
  const a = { typeUrl: 'types.containerd.io/x', value: Buffer.from([1, 2, 3]) };
  assert.deepEqual(toWireAny(a), { type_url: 'types.containerd.io/x', value: a.value });
  assert.deepEqual(fromWireAny(toWireAny(a)), a);
  assert.equal(fromWireAny(null), undefined);
  assert.equal(toWireAny(undefined), undefined);
  assert.equal(anyTypeName('containerd.events.TaskExit'), 'containerd.events.TaskExit');
  assert.equal(anyTypeName('types.googleapis.com/containerd.events.TaskExit'), 'containerd.events.TaskExit');
  const spec = jsonAny(OCI_SPEC_TYPE_URL, { ociVersion: '1.0.2', process: { args: ['sh'] } });
  assert.equal(spec.typeUrl, OCI_SPEC_TYPE_URL);
  assert.deepEqual(decodeJsonAny(spec), { ociVersion: '1.0.2', process: { args: ['sh'] } });
  // RLIM_INFINITY is written exactly (runc reads it into a uint64), and reads back as the same number.
  const limited = { process: { rlimits: [{ type: 'RLIMIT_CORE', hard: 2 ** 64, soft: 1024 }], env: ['hard=18446744073709551616', '"berth:RLIM_INFINITY"'] } };
  const text = jsonAny(OCI_SPEC_TYPE_URL, limited).value.toString();
  assert.equal(text, '{"process":{"rlimits":[{"type":"RLIMIT_CORE","hard":18446744073709551615,"soft":1024}],"env":["hard=18446744073709551616","\\"berth:RLIM_INFINITY\\""]}}');
  assert.deepEqual(decodeJsonAny(jsonAny(OCI_SPEC_TYPE_URL, limited)), limited);
});

test('Timestamps convert both ways; zero values are absent', () => {
  const d = new Date('2024-05-06T07:08:09.123Z');
  const ts = toTimestamp(d);
  assert.deepEqual(ts, { seconds: Math.floor(d.getTime() / 1000), nanos: 123_000_000 });
  assert.equal(fromTimestamp(ts)?.toISOString(), d.toISOString());
  assert.equal(fromTimestamp({ seconds: 1_700_000_000, nanos: 999_999_999 })?.getTime(), 1_700_000_000_999);
  const before1970 = new Date('1969-12-31T23:59:59.500Z');
  assert.equal(fromTimestamp(toTimestamp(before1970))?.toISOString(), before1970.toISOString());
  assert.equal(fromTimestamp(null), undefined);
  assert.equal(fromTimestamp({ seconds: 0, nanos: 0 }), undefined);
  // Go's zero time.Time, sent for a process that has not exited.
  assert.equal(fromTimestamp({ seconds: -62135596800, nanos: 0 }), undefined);
});

test('descriptors, mounts, containers and processes convert', () => {
  const d = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: 'sha256:ab', size: 12 };
  assert.deepEqual(fromWireDescriptor(toWireDescriptor(d)), d);
  const annotated = { ...d, annotations: { a: 'b' } };
  assert.deepEqual(fromWireDescriptor(toWireDescriptor(annotated)), annotated);

  const m = { type: 'overlay', source: 'overlay', options: ['lowerdir=/a', 'upperdir=/b'] };
  assert.deepEqual(fromWireMount(toWireMount(m)), m);
  assert.deepEqual(fromWireMount(toWireMount({ ...m, target: '/x' })), { ...m, target: '/x' });

  const opts = { typeUrl: 'containerd.runc.v1.Options', value: Buffer.from([0x0a]) };
  const wire = toWireContainer({
    id: 'c1',
    labels: { l: 'v' },
    image: 'img',
    runtime: { name: 'io.containerd.runc.v2', options: opts },
    snapshotter: 'overlayfs',
    snapshotKey: 'c1-rw',
  });
  assert.equal(wire.createdAt, undefined, 'containerd owns the timestamps');
  const back = fromWireContainer({
    id: 'c1',
    labels: { l: 'v' },
    image: 'img',
    runtime: { name: 'io.containerd.runc.v2', options: { type_url: opts.typeUrl, value: opts.value } },
    spec: null,
    snapshotter: 'overlayfs',
    snapshotKey: 'c1-rw',
    createdAt: { seconds: 1_700_000_000, nanos: 0 },
    updatedAt: null,
    extensions: {},
  });
  assert.deepEqual(back, {
    id: 'c1',
    labels: { l: 'v' },
    image: 'img',
    runtime: { name: 'io.containerd.runc.v2', options: opts },
    snapshotter: 'overlayfs',
    snapshotKey: 'c1-rw',
    createdAt: new Date(1_700_000_000_000),
  });

  assert.equal(processStatus('RUNNING'), 'running');
  assert.equal(processStatus('PAUSING'), 'pausing');
  assert.equal(processStatus('SOMETHING_NEW'), 'unknown');
  const p = fromWireProcess({
    containerId: 'c1',
    id: 'c1',
    pid: 42,
    status: 'STOPPED',
    stdin: '',
    stdout: '/o',
    stderr: '/e',
    terminal: false,
    exitStatus: 3,
    exitedAt: { seconds: 1_700_000_001, nanos: 0 },
  });
  assert.equal(p.status, 'stopped');
  assert.equal(p.exitedAt?.getTime(), 1_700_000_001_000);
});

test('task events decode from their Any payloads', () => {
  const codec = messageCodec('containerd.events.TaskExit');
  assert.ok(codec);
  const value = codec.serialize({ containerId: 'c1', id: 'c1', pid: 7, exitStatus: 137, exitedAt: { seconds: 1_700_000_000, nanos: 5_000_000 } });
  const decoded = decodeTaskEvent({ typeUrl: 'containerd.events.TaskExit', value });
  assert.deepEqual(decoded, { containerId: 'c1', id: 'c1', pid: 7, exitStatus: 137, exitedAt: new Date(1_700_000_000_005) });

  const exec = messageCodec('containerd.events.TaskExecStarted')?.serialize({ containerId: 'c1', execId: 'e1', pid: 9 });
  assert.ok(exec);
  assert.deepEqual(decodeTaskEvent({ typeUrl: 'containerd.events.TaskExecStarted', value: exec }), { containerId: 'c1', execId: 'e1', pid: 9 });

  const oom = messageCodec('containerd.events.TaskOOM')?.serialize({ containerId: 'c2' });
  assert.ok(oom);
  assert.deepEqual(decodeTaskEvent({ typeUrl: 'containerd.events.TaskOOM', value: oom }), { containerId: 'c2' });

  // Other payloads stay raw.
  const raw = { typeUrl: 'containerd.events.ContainerCreate', value: Buffer.from([0x0a, 0x01, 0x61]) };
  assert.equal(decodeTaskEvent(raw), undefined);
  const env = decodeEnvelope({ timestamp: { seconds: 1, nanos: 0 }, namespace: 'berth', topic: '/containers/create', event: { type_url: raw.typeUrl, value: raw.value } });
  assert.deepEqual(env, { namespace: 'berth', topic: '/containers/create', event: raw, timestamp: new Date(1000) });
});
