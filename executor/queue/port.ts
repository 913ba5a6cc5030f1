/**
 * The run queue as a port: runs accepted on any executor wait here until an executor with a free
 * slot takes them. Two implementations: in one process (InProcessRunQueue, over the FIFO of
 * executor/runs/queue.ts that the run service uses today) and across executors
 * (PgBossRunQueue, on PostgreSQL with pg-boss).
 *
 * The queue moves work; it does not decide a run's fate. Whether a taken run may start, or a
 * removed one counts as cancelled, is the run store's compare-and-set (`transition(id, 'queued',
 * …)` in store/state-port.ts): if a cancel and a start race, exactly one transition succeeds,
 * whatever the queue said.
 *
 * The run service's worker side (executor/runs/worker.ts) takes its runs from here.
 */

export interface QueuedRun {
  runId: string;
  principalId: string;
  /**
   * What the run needs that its stored record does not hold: secret input values, masked texts,
   * the parameters pwsh gets. The pg-boss queue stores it sealed with the credential key and
   * opens it only in the worker.
   */
  secrets?: Record<string, unknown>;
}

export interface QueueCaps {
  /** Runs waiting, in total, across every executor. */
  maxQueued: number;
  /** Runs waiting per principal, across every executor. */
  maxQueuedPerPrincipal: number;
}

export interface RunQueue {
  /** Adds a run to the queue; DEPUTY_E_BUSY, and nothing queued, when a cap is reached. */
  enqueue(run: QueuedRun): Promise<void>;
  /** Takes a run out if no executor has taken it yet; true when it was still waiting. */
  remove(runId: string): Promise<boolean>;
  /** Starts taking runs for this executor, at most its concurrency at a time. Call once. */
  work(execute: (run: QueuedRun) => Promise<void>): Promise<void>;
  /** How many runs wait, across every executor. */
  depth(): Promise<number>;
  /** Throws DEPUTY_E_BUSY when a cap is reached now (before a run is stored; `enqueue` checks again). */
  assertRoom(principalId: string): Promise<void>;
  /** Whether the queue knows this run (waiting, or taken and not yet finished): false for a run accepted but never enqueued. */
  holds(runId: string): Promise<boolean>;
  /**
   * The runs `executor` (one that stopped: its lease expired) took from the queue and had not
   * started, those `stillQueued` says were never claimed, go back into the queue for any
   * executor; returns how many. An executor that dies between taking a run and claiming it
   * would otherwise leave the run waiting forever.
   */
  giveBackTakenBy(executor: string, stillQueued: (runId: string) => Promise<boolean>): Promise<number>;
  /** Resolves once nothing waits and nothing this executor took is running (tests, shutdown). */
  idle(): Promise<void>;
  /** Stops taking runs and waits for the ones running here. */
  close(): Promise<void>;
}
