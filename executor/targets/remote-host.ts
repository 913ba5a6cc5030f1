/**
 * A pwsh host on a target system: one SSH connection with one remote pwsh running Deputy's
 * host script, which is sent over the channel (nothing is installed on the target but pwsh).
 *
 * The remote command is constant text: `env` with pwsh's telemetry opt-outs, then pwsh with a
 * short bootstrap (-EncodedCommand) that reports the session's process group, reads the host
 * script from stdin (its length, then its bytes: raw reads, so nothing after it is consumed)
 * and runs it. From then on the channel speaks the same protocol as a local worker: the frame
 * key and jobs on stdin (secrets included, never on the command line), frames on stdout.
 *
 * sshd starts each command in a new session, so the process group is the command's whole tree.
 * Killing sends the SSH `signal` request (sshd answers it with killpg where it can) and runs
 * `kill -s KILL -- -<group>` over a second channel (sshd refuses signals for some sessions,
 * root's among them), then closes the connection.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientChannel } from 'ssh2';
import type { Logger } from '../../lib/logger.ts';
import type { Target } from '../domain.ts';
import { HostConversation, type ExitInfo } from '../pwsh/host-conversation.ts';
import { LineSplitter, type HostJob } from '../pwsh/protocol.ts';
import type { JobEnd, JobSink } from '../pwsh/worker.ts';
import { SshConnection, TargetConnectError, type ConnectOptions } from './ssh.ts';

const HOST_SCRIPT_BYTES = readFileSync(join(import.meta.dirname, '..', 'pwsh', 'host.ps1'));
const PREAMBLE = /^deputy-session (\d+)$/;

/** The bootstrap pwsh runs first; `warm` passes -Warm to the host (sessions kept for more jobs). */
function bootstrap(warm: boolean): string {
  return [
    "$ErrorActionPreference = 'Stop'",
    '$stat = [System.IO.File]::ReadAllText("/proc/$PID/stat")',
    "$group = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')[2]",
    '[Console]::Out.Write("deputy-session $group`n"); [Console]::Out.Flush()',
    '$stdin = [Console]::OpenStandardInput()',
    'function Read-Exactly([int] $Count) { $bytes = [byte[]]::new($Count); $at = 0; while ($at -lt $Count) { $read = $stdin.Read($bytes, $at, $Count - $at); if ($read -le 0) { exit 65 }; $at += $read }; , $bytes }',
    '$length = [int][System.Text.Encoding]::ASCII.GetString((Read-Exactly 8))',
    '$hostScript = [System.Text.Encoding]::UTF8.GetString((Read-Exactly $length))',
    `& ([scriptblock]::Create($hostScript))${warm ? ' -Warm' : ''}`,
  ].join('\n');
}

/** The command sshd runs; `pwsh` was checked by the catalog to need no quoting, and is quoted anyway. */
export function remoteCommand(pwsh: string, warm: boolean): string {
  const encoded = Buffer.from(bootstrap(warm), 'utf16le').toString('base64');
  return `exec env POWERSHELL_TELEMETRY_OPTOUT=1 POWERSHELL_UPDATECHECK=Off DOTNET_CLI_TELEMETRY_OPTOUT=1 '${pwsh}' -NoProfile -NonInteractive -NoLogo -EncodedCommand ${encoded}`;
}

const SCAN_END = 'deputy-scan-end';

/**
 * A shell kept beside the host for the session's life: each line it reads makes it list the
 * live processes of the host's group other than pwsh itself, then SCAN_END. POSIX sh builtins
 * only, so a scan starts no process per entry; one shell, so a scan opens no SSH session.
 */
function strayScanner(group: number, known: readonly number[]): string {
  const skip = known.map((pid) => `[ "$p" = ${pid} ] && continue;`).join(' ');
  const scan = `for d in /proc/[0-9]*; do p=\${d#/proc/}; ${skip} s=; read -r s < "$d/stat" 2>/dev/null || continue; s=\${s##*") "}; set -- $s; [ "$3" = ${group} ] && [ "$1" != Z ] && [ "$1" != X ] && echo "$p"; done`;
  return `while read -r request; do ${scan}; echo ${SCAN_END}; done`;
}

export interface RemoteHostOptions extends ConnectOptions {
  /** Keep the host for more jobs (warm sessions): it warms up before it says ready. */
  warm: boolean;
  /** Called once the SSH connection stands, before pwsh starts. */
  onConnected?: () => void;
}

export class RemoteHost {
  private killed = false;
  private scanner: Promise<(timeoutMs: number) => Promise<number[]>> | undefined;

  private constructor(
    private readonly connection: SshConnection,
    private readonly channel: ClientChannel,
    private readonly conversation: HostConversation,
    /** The remote process group, once the bootstrap reported it. */
    private readonly groupOf: () => number,
    readonly target: Target,
    private readonly logger: Logger,
  ) {}

  /**
   * Connects, starts pwsh and waits for the host's ready frame. Aborting the signal ends a
   * half-started host. Fails with TargetConnectError when the target cannot be reached, refuses
   * the connection, or has no pwsh that starts.
   */
  static async start(options: RemoteHostOptions): Promise<RemoteHost> {
    const { target, logger, signal } = options;
    const connection = await SshConnection.open(options);
    options.onConnected?.();
    let channel: ClientChannel;
    try {
      channel = await connection.exec(remoteCommand(target.pwsh, options.warm));
    } catch (error) {
      connection.close();
      throw error;
    }
    let group = -1;
    let exit: ExitInfo = { exitCode: null, signal: null };
    const conversation = new HostConversation(
      (text) => channel.write(text),
      logger.child({ target: target.id }),
      (line) => {
        const match = PREAMBLE.exec(line);
        if (match) group = Number(match[1]);
        else logger.debug({ target: target.id, chars: line.length }, 'remote pwsh wrote text before the host started');
      },
    );
    const host = new RemoteHost(connection, channel, conversation, () => group, target, logger);
    // Writes to a channel the target already closed fail here, not as an unhandled 'error' event.
    channel.on('error', (error: Error) => logger.debug({ err: error, target: target.id }, 'target channel error'));
    channel.setEncoding('utf8');
    channel.stderr.setEncoding('utf8');
    channel.on('data', (chunk: string) => conversation.stdout(chunk));
    channel.stderr.on('data', (chunk: string) => conversation.stderr(chunk));
    channel.on('exit', (code: number | null, signalName?: string) => {
      exit = { exitCode: code ?? null, signal: signalName ?? null };
    });
    channel.on('close', () => conversation.ended(exit));
    void connection.whenClosed().then(() => conversation.ended(exit));

    const length = String(HOST_SCRIPT_BYTES.length).padStart(8, '0');
    channel.write(length);
    channel.write(HOST_SCRIPT_BYTES);
    conversation.sendKey();

    let onAbort = (): void => undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(signal?.reason ?? new Error('aborted'));
    });
    aborted.catch(() => undefined);
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const ready = await Promise.race([conversation.ready(), aborted]);
      if (!ready.ready) {
        const code = ready.exit.exitCode;
        const reason = code === 127 ? `pwsh not found at "${target.pwsh}"` : `pwsh ended before it was ready (exit ${code ?? ready.exit.signal ?? 'unknown'})`;
        throw new TargetConnectError(target.id, 'ssh', reason, { cause: new Error(conversation.stderrTail || 'no message') });
      }
    } catch (error) {
      host.kill();
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return host;
  }

  /** The remote pid of the process running the host script (what scripts see as `$PID`). */
  get hostProcessId(): number {
    return this.conversation.hostPid;
  }

  get alive(): boolean {
    return !this.killed && !this.conversation.exited && !this.connection.closed;
  }

  get busy(): boolean {
    return this.conversation.busy;
  }

  run(job: HostJob, sink: JobSink): Promise<JobEnd> {
    return this.conversation.run(job, sink);
  }

  /** The host opens the next job's runspace now (HostConversation.prepareNext). */
  prepareNext(): void {
    this.conversation.prepareNext();
  }

  /**
   * Live processes of the host's process group besides pwsh: what a job left behind, also once
   * its parent exited (the host itself checks only its own children).
   */
  async strayProcesses(timeoutMs = 5000): Promise<number[]> {
    this.scanner ??= this.openScanner();
    return (await this.scanner)(timeoutMs);
  }

  private async openScanner(): Promise<(timeoutMs: number) => Promise<number[]>> {
    const group = this.groupOf();
    if (group <= 1) throw new Error('the remote process group is unknown');
    const known = [group, this.conversation.hostPid].filter((pid) => pid > 0);
    const channel = await this.connection.exec(strayScanner(group, known));
    channel.on('error', () => undefined);
    channel.stderr.resume();
    channel.setEncoding('utf8');
    let pending: { found: number[]; done: (pids: number[]) => void } | undefined;
    const lines = new LineSplitter((line) => {
      if (!pending) return;
      if (line === SCAN_END) pending.done(pending.found);
      else if (/^\d+$/.test(line)) pending.found.push(Number(line));
    });
    channel.on('data', (chunk: string) => lines.push(chunk));
    // One scan at a time: a session is checked only between its jobs.
    return (timeoutMs) =>
      new Promise<number[]>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending = undefined;
          reject(new Error(`the stray process scan did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending = {
          found: [],
          done: (pids) => {
            clearTimeout(timer);
            pending = undefined;
            resolve(pids);
          },
        };
        channel.write('scan\n');
      });
  }

  /** Ends the remote process tree and the connection (also for a host that is idle: nothing of it may linger). */
  kill(): void {
    if (this.killed) return;
    this.killed = true;
    const group = this.groupOf();
    if (!this.conversation.exited) {
      try {
        this.channel.signal('KILL');
      } catch {
        // the channel is already gone
      }
    }
    // Before the bootstrap reported the group there is nothing started yet to kill: the host
    // still reads its script, and ends when the connection goes. After pwsh exited on its own,
    // what its scripts started may still run in the group: that goes too.
    if (this.connection.closed || group <= 1) {
      this.connection.close();
      return;
    }
    void this.connection
      .run(`kill -s KILL -- -${group}`, 5000)
      .catch((error: unknown) => this.logger.warn({ err: error, target: this.target.id, group }, 'could not kill a remote process group'))
      .finally(() => this.connection.close());
  }

  whenClosed(): Promise<void> {
    return this.connection.whenClosed();
  }
}
