/**
 * Run and approval events for `GET /v1/events`. Each event gets a sequence number; a short
 * history lets a reconnecting subscriber resume from `Last-Event-ID` without losing events.
 */
import type { Clock } from '../lib/clock.ts';
import type { PlanEvent, RunEvent, ScriptEvent } from './contract/index.ts';

export type RunEventInput = Omit<RunEvent, 'seq'>;
export type PlanEventInput = Omit<PlanEvent, 'seq'>;
export type ScriptEventInput = Omit<ScriptEvent, 'seq'>;
/** Everything on the stream: run and approval changes, plan reports, script lifecycle changes. */
export type ExecutorEvent = RunEvent | PlanEvent | ScriptEvent;
type Listener = (event: ExecutorEvent) => void;

export class EventBus {
  private seq: number;
  private readonly history: ExecutorEvent[] = [];
  private readonly listeners = new Set<Listener>();

  /**
   * Sequence numbers start from the clock (in microsecond steps), so they keep growing across
   * executor restarts and a subscriber's `Last-Event-ID` from before a restart stays meaningful.
   */
  constructor(clock: Clock, private readonly historySize = 1000) {
    this.seq = clock.now() * 1000;
  }

  publish(input: RunEventInput): RunEvent;
  publish(input: PlanEventInput): PlanEvent;
  publish(input: ScriptEventInput): ScriptEvent;
  publish(input: RunEventInput | PlanEventInput | ScriptEventInput): ExecutorEvent {
    const event = { ...input, seq: ++this.seq } as ExecutorEvent;
    this.history.push(event);
    if (this.history.length > this.historySize) this.history.shift();
    for (const listener of this.listeners) listener(event);
    return event;
  }

  /** Hands an event numbered elsewhere (the PostgreSQL outbox) to this process's subscribers, without keeping it. */
  deliver(event: ExecutorEvent): void {
    for (const listener of this.listeners) listener(event);
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
