/**
 * Run and approval events for `GET /v1/events`. Each event gets a sequence number; a short
 * history lets a reconnecting subscriber resume from `Last-Event-ID` without losing events.
 */
import type { RunEvent } from './contract/index.ts';

export type RunEventInput = Omit<RunEvent, 'seq'>;
type Listener = (event: RunEvent) => void;

export class EventBus {
  private seq = 0;
  private readonly history: RunEvent[] = [];
  private readonly listeners = new Set<Listener>();

  constructor(private readonly historySize = 1000) {}

  publish(input: RunEventInput): RunEvent {
    const event: RunEvent = { ...input, seq: ++this.seq };
    this.history.push(event);
    if (this.history.length > this.historySize) this.history.shift();
    for (const listener of this.listeners) listener(event);
    return event;
  }

  /** Events after `afterSeq` still in the history, oldest first. */
  since(afterSeq: number): RunEvent[] {
    return this.history.filter((event) => event.seq > afterSeq);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }
}
