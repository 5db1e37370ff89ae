// Events service: containerd's event stream, with the /tasks/* payloads decoded.
import { status } from '@grpc/grpc-js';
import { anyTypeName, fromTimestamp, fromWireAny } from './convert.js';
import { messageCodec } from './proto.js';
import type { Rpc } from './connection.js';
import type { AnyMessage, ContainerdClient, ContainerdEvent, TaskEventPayload } from './types.js';
import type { WireEnvelope, WireTimestamp } from './wire.js';

const TASK_EVENTS = new Set([
  'containerd.events.TaskCreate',
  'containerd.events.TaskStart',
  'containerd.events.TaskDelete',
  'containerd.events.TaskExit',
  'containerd.events.TaskOOM',
  'containerd.events.TaskExecAdded',
  'containerd.events.TaskExecStarted',
  'containerd.events.TaskPaused',
  'containerd.events.TaskResumed',
]);

interface WireTaskEvent {
  containerId: string;
  id?: string;
  execId?: string;
  pid?: number;
  exitStatus?: number;
  exitedAt?: WireTimestamp | null;
}

/** The decoded fields of a known task event, or undefined for any other payload. */
export function decodeTaskEvent(a: AnyMessage): TaskEventPayload | undefined {
  const name = anyTypeName(a.typeUrl);
  if (!TASK_EVENTS.has(name)) return undefined;
  const codec = messageCodec(name);
  if (codec === undefined) return undefined;
  const w = codec.deserialize(a.value) as WireTaskEvent;
  const p: TaskEventPayload = { containerId: w.containerId };
  if (w.id !== undefined) p.id = w.id;
  if (w.execId !== undefined) p.execId = w.execId;
  if (w.pid !== undefined) p.pid = w.pid;
  if (w.exitStatus !== undefined) p.exitStatus = w.exitStatus;
  const exitedAt = fromTimestamp(w.exitedAt);
  if (exitedAt !== undefined) p.exitedAt = exitedAt;
  return p;
}

export function decodeEnvelope(w: WireEnvelope): ContainerdEvent {
  const raw = fromWireAny(w.event) ?? { typeUrl: '', value: Buffer.alloc(0) };
  let event: TaskEventPayload | AnyMessage = raw;
  try {
    event = decodeTaskEvent(raw) ?? raw;
  } catch {
    // A payload that does not decode is passed on raw rather than dropping the event.
  }
  const e: ContainerdEvent = { namespace: w.namespace, topic: w.topic, event };
  const at = fromTimestamp(w.timestamp);
  if (at !== undefined) e.timestamp = at;
  return e;
}

export function eventsApi(rpc: Rpc): ContainerdClient['events'] {
  return {
    subscribe(filters, onEvent, onEnd) {
      // Events of every namespace arrive unless a filter says otherwise (e.g. namespace==berth).
      const call = rpc.serverStream<WireEnvelope>('containerd.services.events.v1.Events', 'Subscribe', { filters }, 'none');
      let closed = false;
      let ended = false;
      const end = (err?: Error): void => {
        if (ended || closed) return;
        ended = true;
        onEnd(err);
      };
      call.on('data', (w: WireEnvelope) => {
        if (!closed) onEvent(decodeEnvelope(w));
      });
      call.on('error', (err: Error & { code?: number }) => {
        if (err.code === status.CANCELLED && closed) return;
        end(rpc.error(err));
      });
      call.on('end', () => end());
      return {
        close() {
          if (closed) return;
          closed = true;
          call.cancel();
        },
      };
    },
  };
}
