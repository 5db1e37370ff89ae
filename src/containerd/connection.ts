// One gRPC channel to a containerd socket, shared by every client derived
// from it (withNamespace/withLease), and the per-call plumbing: metadata,
// deadlines, codecs and error mapping.
import * as grpc from '@grpc/grpc-js';
import { fromGrpcError } from './errors.js';
import { method, type ServiceName } from './proto.js';
import type { BerthError } from '../errors/index.js';

const MiB = 1024 * 1024;

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // containerd sends up to 16 MiB by default; lists of many containers get big.
  'grpc.max_receive_message_length': 64 * MiB,
  'grpc.max_send_message_length': 16 * MiB,
  // containerd restarts take well under a second: reconnect quickly instead of
  // grpc's default backoff of up to two minutes.
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
  'grpc.default_authority': 'localhost',
};

/**
 * How long a call may take: metadata calls are quick, task and layer work can
 * be slow, waits and streams have no limit; a number is milliseconds.
 */
export type Timeout = 'short' | 'long' | 'none' | number;
const TIMEOUT_MS: Record<Timeout, number> = { short: 30_000, long: 300_000, none: 0 };

/** `unix:///path` for a bare socket path; other grpc targets are kept. */
export function grpcTarget(address: string): string {
  if (address.startsWith('/')) return `unix://${address}`;
  return address;
}

export function socketPath(address: string): string {
  return address.replace(/^unix:(\/\/)?/, '');
}

export class Connection {
  readonly target: string;
  readonly address: string;
  private readonly client: grpc.Client;
  private closed = false;

  constructor(address: string) {
    this.target = grpcTarget(address);
    this.address = socketPath(address);
    this.client = new grpc.Client(this.target, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  }

  get grpc(): grpc.Client {
    return this.client;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}

/** Who a call acts for: containerd scopes everything by namespace, and a lease protects new content from GC. */
export interface Scope {
  namespace: string;
  lease?: string;
}

export class Rpc {
  constructor(
    readonly conn: Connection,
    readonly scope: Scope,
  ) {}

  metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set('containerd-namespace', this.scope.namespace);
    if (this.scope.lease !== undefined) md.set('containerd-lease', this.scope.lease);
    return md;
  }

  error(err: unknown): BerthError {
    return fromGrpcError(err, this.conn.address);
  }

  private options(timeout: Timeout): grpc.CallOptions {
    const ms = typeof timeout === 'number' ? timeout : TIMEOUT_MS[timeout];
    return ms > 0 ? { deadline: Date.now() + ms } : {};
  }

  unary<Res>(service: ServiceName, name: string, request: object, timeout: Timeout = 'short'): Promise<Res> {
    const m = method(service, name);
    return new Promise<Res>((resolve, reject) => {
      this.conn.grpc.makeUnaryRequest<object, Res>(
        m.path,
        m.requestSerialize,
        (buf) => m.responseDeserialize(buf) as Res,
        request,
        this.metadata(),
        this.options(timeout),
        (err, res) => {
          if (err !== null || res === undefined) reject(this.error(err ?? new Error(`empty answer to ${m.path}`)));
          else resolve(res);
        },
      );
    });
  }

  serverStream<Res>(service: ServiceName, name: string, request: object, timeout: Timeout = 'none'): grpc.ClientReadableStream<Res> {
    const m = method(service, name);
    return this.conn.grpc.makeServerStreamRequest<object, Res>(
      m.path,
      m.requestSerialize,
      (buf) => m.responseDeserialize(buf) as Res,
      request,
      this.metadata(),
      this.options(timeout),
    );
  }

  /** All messages of a finite server stream (list calls). */
  async collect<Res>(service: ServiceName, name: string, request: object, timeout: Timeout = 'short'): Promise<Res[]> {
    const out: Res[] = [];
    try {
      for await (const msg of this.serverStream<Res>(service, name, request, timeout)) out.push(msg as Res);
    } catch (err) {
      throw this.error(err);
    }
    return out;
  }

  /** `serialize` replaces the generic encoder where a stream's messages need a faster one. */
  bidi<Req, Res>(service: ServiceName, name: string, timeout: Timeout = 'none', serialize?: (value: Req) => Buffer): grpc.ClientDuplexStream<Req, Res> {
    const m = method(service, name);
    return this.conn.grpc.makeBidiStreamRequest<Req, Res>(
      m.path,
      serialize ?? (m.requestSerialize as (value: Req) => Buffer),
      (buf) => m.responseDeserialize(buf) as Res,
      this.metadata(),
      this.options(timeout),
    );
  }
}
