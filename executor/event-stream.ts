/**
 * The event stream behind `GET /v1/events`, as a port both deployments implement: in one
 * process (the EventBus of events.ts, a bounded history in memory), and across executors (the
 * PostgreSQL outbox, executor/store/pg/outbox.ts: one global sequence, every executor's events
 * on every executor's stream). Publishing is async, because on PostgreSQL an event exists once
 * its row is committed.
 *
 * The run service, plans and scripts publish here and `GET /v1/events` reads it. What acts on an
 * event once (mail replies, connector callbacks) subscribes to the EventBus of its own process,
 * which sees the events that process published (see `EchoingEventStream`).
 */
import type { EventBus, ExecutorEvent, PlanEventInput, RunEventInput, ScriptEventInput } from './events.ts';

export type EventInput = RunEventInput | PlanEventInput | ScriptEventInput;

export interface EventStream {
  /** Gives the event the next sequence number, keeps it, and delivers it to every subscriber. */
  publish(input: EventInput): Promise<ExecutorEvent>;
  /** Kept events after `afterSeq`, oldest first, at most `limit`: what a client resuming with Last-Event-ID missed. */
  since(afterSeq: number, limit?: number): Promise<ExecutorEvent[]>;
  /** Every event published from now on, by any executor, once each, in sequence order. */
  subscribe(listener: (event: ExecutorEvent) => void): () => void;
  close(): Promise<void>;
}

/** The stream of one executor process, over its EventBus. */
export class InProcessEventStream implements EventStream {
  constructor(private readonly bus: EventBus) {}

  async publish(input: EventInput): Promise<ExecutorEvent> {
    return this.bus.publish(input as RunEventInput);
  }

  async since(afterSeq: number, limit = Number.POSITIVE_INFINITY): Promise<ExecutorEvent[]> {
    return this.bus.since(afterSeq).slice(0, limit);
  }

  subscribe(listener: (event: ExecutorEvent) => void): () => void {
    return this.bus.subscribe(listener);
  }

  async close(): Promise<void> {}
}

/**
 * The outbox (every executor's events, for SSE) that also hands what this process publishes to
 * its own EventBus: a mail reply or a connector callback is sent once, by the executor where the
 * run changed, not by every executor that reads the outbox.
 */
export class EchoingEventStream implements EventStream {
  constructor(
    private readonly shared: EventStream,
    private readonly local: EventBus,
  ) {}

  async publish(input: EventInput): Promise<ExecutorEvent> {
    const event = await this.shared.publish(input);
    this.local.deliver(event);
    return event;
  }

  since(afterSeq: number, limit?: number): Promise<ExecutorEvent[]> {
    return this.shared.since(afterSeq, limit);
  }

  subscribe(listener: (event: ExecutorEvent) => void): () => void {
    return this.shared.subscribe(listener);
  }

  close(): Promise<void> {
    return this.shared.close();
  }
}
