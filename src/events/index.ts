// The daemon's event bus, in Docker's /events shape. Producers publish; the
// API streams. A ring of recent events serves `since` queries.
import { nowNs } from '../clock/index.js';

export type EventType = 'container' | 'image' | 'plugin' | 'daemon' | 'network' | 'volume';

export interface EngineEvent {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  // Legacy fields the CLI still reads for container/image events.
  status?: string;
  id?: string;
  from?: string;
}

export type EventListener = (event: EngineEvent) => void;

export class EventBus {
  private readonly listeners = new Set<EventListener>();
  private readonly recent: EngineEvent[] = [];
  private readonly capacity: number;

  constructor(capacity = 1024) {
    this.capacity = capacity;
  }

  publish(type: EventType, action: string, id: string, attributes: Record<string, string> = {}): EngineEvent {
    // One clock that never goes backwards: `since`/`until` replays depend on the order.
    const ns = nowNs();
    const event: EngineEvent = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: { ...attributes } },
      scope: 'local',
      time: Number(ns / 1_000_000_000n),
      timeNano: Number(ns),
    };
    if (type === 'container' || type === 'image') {
      event.status = action;
      event.id = id;
      if (attributes.image !== undefined) event.from = attributes.image;
    }
    this.recent.push(event);
    if (this.recent.length > this.capacity) this.recent.shift();
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A failing subscriber must never break the publisher.
      }
    }
    return event;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Recent events with timeNano in [sinceNs, untilNs]. */
  history(sinceNs: number, untilNs: number = Number.POSITIVE_INFINITY): EngineEvent[] {
    return this.recent.filter((e) => e.timeNano >= sinceNs && e.timeNano <= untilNs);
  }
}
