/**
 * The executor's side of the host protocol (docs/runner.md) over any byte transport: it sends
 * the frame key and jobs, reads frames and console text, and hands each job's records to its
 * sink. The transport (an SSH channel for target systems) feeds it what arrives and tells it
 * when the process ended; the conversation knows nothing of how the bytes travel.
 */
import type { Logger } from '../../lib/logger.ts';
import type { StoredRecord } from '../store/port.ts';
import { LineSplitter, newFrameKey, parseLine, type EndFrame, type Frame, type HostJob } from './protocol.ts';
import type { JobEnd, JobSink } from './worker.ts';

const STDERR_TAIL_CHARS = 4000;

export interface ExitInfo {
  exitCode: number | null;
  signal: string | null;
}

export class HostConversation {
  private readonly frameKey = newFrameKey();
  private readonly stdoutLines = new LineSplitter((line) => this.handleStdoutLine(line));
  private readonly stderrLines = new LineSplitter((line) => this.handleStderrLine(line));
  private sink: JobSink | undefined;
  private finishJob: ((end: JobEnd) => void) | undefined;
  private pendingEnd: EndFrame | undefined;
  private readyWaiter: ((frame: Frame & { t: 'ready' }) => void) | undefined;
  private exit: ExitInfo | undefined;
  private readonly exitWaiters: Array<(exit: ExitInfo) => void> = [];
  private tail = '';
  /** The pid of the process running the host script, from its ready frame. */
  hostPid = -1;

  /**
   * @param write sends text to the host's stdin
   * @param onPreamble receives the lines written before the host took over (nothing but the
   *   transport's own start-up code can write there, since no job has run yet)
   */
  constructor(
    private readonly write: (text: string) => void,
    private readonly logger: Logger,
    private readonly onPreamble: (line: string) => void = () => undefined,
  ) {}

  /** The first stdin line: the key every frame starts with. */
  sendKey(): void {
    this.write(`${this.frameKey}\n`);
  }

  /** Resolves with the ready frame, or with the exit when the host ended first. */
  ready(): Promise<{ ready: true } | { ready: false; exit: ExitInfo }> {
    return new Promise((resolve) => {
      if (this.exit) return resolve({ ready: false, exit: this.exit });
      this.readyWaiter = () => {
        this.readyWaiter = undefined;
        resolve({ ready: true });
      };
      this.exitWaiters.push((exit) => {
        if (!this.readyWaiter) return;
        this.readyWaiter = undefined;
        resolve({ ready: false, exit });
      });
    });
  }

  stdout(chunk: string): void {
    this.stdoutLines.push(chunk);
  }

  stderr(chunk: string): void {
    this.stderrLines.push(chunk);
  }

  /** The host process ended: a running job ends with it. */
  ended(exit: ExitInfo): void {
    if (this.exit) return;
    this.stdoutLines.flush();
    this.stderrLines.flush();
    this.exit = exit;
    this.finishJob?.(this.pendingEnd ? { kind: 'ended', frame: this.pendingEnd } : { kind: 'died', exitCode: exit.exitCode, signal: exit.signal });
    for (const wake of this.exitWaiters.splice(0)) wake(exit);
  }

  get exited(): boolean {
    return this.exit !== undefined;
  }

  get busy(): boolean {
    return this.finishJob !== undefined;
  }

  /** The last lines the host wrote to stderr, for a start-up failure's message. */
  get stderrTail(): string {
    return this.tail.trim();
  }

  /**
   * Tells an idle host to open the next job's runspace now (an empty line): sent once the
   * previous job's end is recorded, so that the opening does not compete with that work. A job
   * sent without it opens the runspace itself, on its own path.
   */
  prepareNext(): void {
    if (!this.busy && !this.exit) this.write('\n');
  }

  /** Hands the host one job; resolves when the host reports its end or the process ends. */
  run(job: HostJob, sink: JobSink): Promise<JobEnd> {
    if (this.busy) throw new Error('the pwsh host is already running a job');
    if (this.exit) return Promise.resolve({ kind: 'died', exitCode: this.exit.exitCode, signal: this.exit.signal });
    return new Promise<JobEnd>((resolve) => {
      this.sink = sink;
      this.finishJob = (end) => {
        this.sink = undefined;
        this.finishJob = undefined;
        this.pendingEnd = undefined;
        resolve(end);
      };
      this.write(`${JSON.stringify(job)}\n`);
    });
  }

  private handleStdoutLine(line: string): void {
    if (this.hostPid < 0 && !line.includes(this.frameKey)) {
      this.onPreamble(line);
      return;
    }
    const { plainText, frame } = parseLine(line, this.frameKey);
    if (plainText !== undefined) this.deliverPlain('output', plainText);
    if (!frame) return;
    switch (frame.t) {
      case 'ready':
        this.hostPid = frame.pid;
        this.readyWaiter?.(frame);
        break;
      case 'started':
        this.sink?.onStarted();
        break;
      case 'rec':
        this.sink?.onRecord(frame.data === undefined ? { stream: frame.s, text: frame.text } : { stream: frame.s, text: frame.text, data: frame.data });
        break;
      case 'end':
        if (!this.finishJob || this.pendingEnd) break;
        this.pendingEnd = frame;
        // Defer a turn: console text written just before the end frame may still sit in this read.
        setImmediate(() => this.finishJob?.({ kind: 'ended', frame }));
        break;
    }
  }

  private handleStderrLine(line: string): void {
    this.tail = (this.tail + line + '\n').slice(-STDERR_TAIL_CHARS);
    this.deliverPlain('error', line);
  }

  /** Console text belongs to the running job; between jobs it is only logged (by size, it may hold anything). */
  private deliverPlain(stream: StoredRecord['stream'], text: string): void {
    if (this.sink) this.sink.onRecord({ stream, text });
    else if (text) this.logger.debug({ stream, chars: text.length }, 'pwsh host wrote text outside a job');
  }
}
