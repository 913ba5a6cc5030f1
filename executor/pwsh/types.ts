/** The seam between the run service and pwsh. */
import type { ErrorCode, RunSummary } from '../contract/index.ts';
import type { RunAs } from '../domain.ts';
import type { StoredRecord } from '../store/port.ts';
import type { SrxContext, SrxResult } from './srx.ts';

export interface ExecutionLimits {
  /** Bytes of text kept per run across all streams; beyond it records are dropped and `truncated` is set. */
  maxOutputBytes: number;
  /** Records kept per run. */
  maxRecords: number;
}

export interface ExecutionRequest {
  runId: string;
  /** Who asked for the run (principal id): a pool worker serves one requester for its whole life. */
  requester: string;
  scriptText: string;
  scriptHash: string;
  /** Validated, typed values keyed by parameter name; secrets included (they travel on stdin only). */
  parameters: Record<string, unknown>;
  /** Names of parameters that are SecureString / PSCredential: the host converts them, and their values are masked. */
  secretParameters: string[];
  /** Further values to mask in every stream (stored credentials). */
  maskValues?: string[];
  runAs: RunAs;
  timeoutMs: number;
  limits: ExecutionLimits;
  /** Give the script `$SRXEnv` (scripts written for ScriptRunner). */
  srx?: SrxContext;
}

export type ExecutionOutcome = 'succeeded' | 'failed' | 'timed-out' | 'cancelled';

export interface ExecutionResult {
  outcome: ExecutionOutcome;
  exitCode: number | null;
  /** Masked, capped. */
  records: StoredRecord[];
  truncated: boolean;
  durationMs: number;
  summary: RunSummary;
  /** What the script left in `$SRXEnv` (masked), when it had one. */
  srx?: SrxResult;
  /** Why the run could not do its work, for the run's `error` (e.g. a target that cannot be reached). */
  error?: { code: ErrorCode; message: string };
}

export interface ExecutionHooks {
  /** Aborting cancels the run and kills its process tree. */
  signal?: AbortSignal;
  /** Called when pwsh has the job (the run is `running`). */
  onStarted?: () => void;
  /** Called with each record as it arrives, already masked and within the caps (live progress). */
  onRecord?: (record: StoredRecord) => void;
  /**
   * Settles once the caller has recorded the run's end. A pool worker is checked and readied for
   * its next job only then, so that work (a fresh runspace, about 20 ms of CPU) does not compete
   * with the recording on the run's path; without it, at once.
   */
  recorded?: Promise<unknown>;
}

export interface Runner {
  execute(request: ExecutionRequest, hooks?: ExecutionHooks): Promise<ExecutionResult>;
  /** Refuses (DeputyError DEPUTY_E_MODE_UNAVAILABLE) when a run-as mode cannot work here, e.g. no privilege to switch users. */
  assertModeAvailable(runAs: RunAs): void;
  close(): Promise<void>;
}
