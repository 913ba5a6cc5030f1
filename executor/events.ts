/**
 * Run and approval events for `GET /v1/events`. Each event gets a sequence number; a short
 * history lets a reconnecting subscriber resume from `Last-Event-ID` without losing events.
 */
import type { PlanEvent, RunEvent } from './contract/index.ts';

export type RunEventInput = Omit<RunEvent, 'seq'>;
export type PlanEventInput = Omit<PlanEvent, 'seq'>;
/** Everything on the stream: run and approval changes, and plan reports. */
export type ExecutorEvent = RunEvent | PlanEvent;
type Listener = (event: ExecutorEvent) => void;

export class EventBus {
  private seq = 0;
  private readonly history: ExecutorEvent[] = [];
  private readonly listeners = new Set<Listener>();

  constructor(private readonly historySize = 1000) {}

  publish(input: RunEventInput): RunEvent;
  publish(input: PlanEventInput): PlanEvent;
  publish(input: RunEventInput | PlanEventInput): ExecutorEvent {
    const event = { ...input, seq: ++this.seq } as ExecutorEvent;
    this.history.push(event);
    if (this.history.length > this.historySize) this.history.shift();
    for (const listener of this.listeners) listener(event);
    return event;
  }

  /** Events after `afterSeq` still in the history, oldest first. */
  since(afterSeq: number): ExecutorEvent[] {
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
