/**
 * Chat benchmarks, measured in one run on this machine: a real executor (`deputy executor`,
 * real pwsh, warm pool) and a real bot (`startBot` with the Teams edge and the local web chat,
 * bench/chat-bot.ts), each in its own process as in production, on loopback. The load generator
 * and the loopback Bot Framework cloud (token issuer, JWKS, the connector the summary cards are
 * PUT to) stay in this process: they stand in for Teams, whose work is not the bot's. They
 * still share the machine's two cores with the bot, the executor and pwsh.
 *
 * - Teams: 200 concurrent `Action.Execute` form submissions through real botbuilder (JWT checked
 *   against the loopback OpenID/JWKS fake of test/bot/teams), timed until the invoke answer;
 *   goal p99 below 3 s (Teams' limit for an invoke answer is a few seconds). Also printed: the
 *   time until the summary card replaces the form (the connector's PUT).
 * - Web chat: 200 concurrent Direct Line POSTs of the form card's submit, each timed until its
 *   summary shows, polling the activities endpoint at the interval the bot's page gives Web Chat.
 *
 * Baseline, in the same run: the same trivial pool action submitted 200 times at once straight
 * to the executor's REST API (time to 202, and to the final state over SSE), so the ratios show
 * what the bot adds. Nothing here is asserted in tests; these are figures.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { formInputId } from '../cards/form.ts';
import type { RunEvent } from '../executor/contract/index.ts';
import { PROJECT_ROOT } from '../executor/pwsh/locate.ts';
import { cardText } from '../test/bot/conformance/adaptive-card.ts';
import { waitForMessage, type ObservedMessage } from '../test/bot/conformance/suite.ts';
import { FakeBotFrameworkCloud, type RecordedCall } from '../test/bot/teams/fake-cloud.ts';
import { executeActivity, personalChat, send, type LoopbackCloud, type TeamsActivityJson } from '../test/bot/teams/harness.ts';
import { WebChatDriver } from '../test/bot/webchat/driver.ts';
import { BOT_TEST_CATALOG } from '../test/bot/webchat/harness.ts';
import { removeDataFolder } from '../test/helpers/executor.ts';
import { EXECUTOR_LISTENING, startServiceProcess } from '../test/helpers/service-process.ts';
import type { BenchResult } from './executor.ts';
import { followEvents } from './sse.ts';
import { median, medianAndP99, percentile } from './stats.ts';

const SUBMISSIONS = 200;
/** Submissions on each path before measuring: the first runs start the pwsh workers, the first invoke fetches the JWKS. */
const WARM_UP = 4;
const GOAL_INVOKE_P99_MS = 3000;
/** What the bot's web chat page configures as Web Chat's polling interval (startBot's default). */
const WEB_CHAT_POLLING_MS = 300;
/** Web chat conversations are prepared (list → form) this many at a time, outside the measurement. */
const SETUP_CONCURRENCY = 20;
const PHASE_TIMEOUT_MS = 180_000;
/** The line bench/chat-bot.ts prints once it serves: its address and the web chat's key, as JSON. */
const BOT_READY = /BENCH_BOT (.+)\n/;
/**
 * Submissions alternate between the test catalog's two helpdesk agents: the executor caps
 * queued runs per principal (200 by default), and one person with 200 forms open is not the case.
 */
const REQUESTERS = ['alex', 'bea'] as const;
/** The fixture catalog's Teams tenant (test/bot/conformance/catalog). */
const FIXTURE_TENANT = 'tid';

const requester = (index: number) => REQUESTERS[index % REQUESTERS.length] ?? 'alex';
const sleep = (msToWait: number) => new Promise((resolve) => setTimeout(resolve, msToWait));

interface ExecutorProcess {
  url: string;
  token: string;
  close(): Promise<void>;
}

interface BotProcess {
  url: string;
  webChat?: { key: string };
  close(): Promise<void>;
}

interface ChildService {
  /** The first match of `ready` in the child's output: what it says once it serves. */
  ready: RegExpExecArray;
  close(): Promise<void>;
}

/**
 * A service of the benchmark in a process (and process group) of its own, with `dataDir` as its
 * data folder; ready once its output matches `ready`. Its stderr goes to ours (warnings and errors only).
 */
async function startChild(what: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp, dataDir: string): Promise<ChildService> {
  try {
    const service = await startServiceProcess({ what, args, env: { ...process.env, ...env, DEPUTY_DATA_DIR: dataDir }, ready, echoStderr: true });
    return {
      ready: service.ready,
      async close() {
        // An executor's pwsh workers are in its process group: nothing of it may outlive the bench.
        await service.stop();
        removeDataFolder(dataDir);
      },
    };
  } catch (error) {
    removeDataFolder(dataDir);
    throw error;
  }
}

/** `deputy executor` on the bot test catalog. */
async function startExecutorProcess(): Promise<ExecutorProcess> {
  const token = randomBytes(24).toString('hex');
  const child = await startChild('deputy executor', [join(PROJECT_ROOT, 'bin', 'deputy.mjs'), 'executor'], {
    DEPUTY_EXECUTOR_HOST: '127.0.0.1',
    DEPUTY_EXECUTOR_PORT: '0',
    DEPUTY_EXECUTOR_TOKEN: token,
    DEPUTY_CATALOG: BOT_TEST_CATALOG,
    // The web chat's personas come from the executor's demo mode.
    DEPUTY_DEMO: '1',
    // As bench/executor.ts measures the executor alone.
    DEPUTY_MAX_CONCURRENT_RUNS: '4',
    DEPUTY_POOL_SIZE: '4',
    DEPUTY_LOG_LEVEL: 'warn',
  }, EXECUTOR_LISTENING, mkdtempSync(join(tmpdir(), 'deputy-bench-chat-executor-')));
  return { url: child.ready[1] ?? '', token, close: () => child.close() };
}

/** The bot (Teams edge against the loopback cloud, and the web chat) in a process of its own: bench/chat-bot.ts. */
async function startBotProcess(cloud: FakeBotFrameworkCloud, executor: ExecutorProcess): Promise<BotProcess> {
  const loopback: LoopbackCloud = {
    openIdMetadataUrl: cloud.openIdMetadataUrl,
    loginUrl: cloud.loginUrl,
    loginHost: cloud.loginHost,
    serviceUrl: cloud.serviceUrl,
    appId: cloud.appId,
    appPassword: cloud.appPassword,
    caPem: cloud.caPem,
  };
  const child = await startChild('the bot', ['--import', 'tsx', join(PROJECT_ROOT, 'bench', 'chat-bot.ts')], {
    BENCH_LOOPBACK_CLOUD: JSON.stringify(loopback),
    BENCH_WEB_CHAT_POLLING_MS: String(WEB_CHAT_POLLING_MS),
    DEPUTY_EXECUTOR_URL: executor.url,
    DEPUTY_EXECUTOR_TOKEN: executor.token,
  }, BOT_READY, mkdtempSync(join(tmpdir(), 'deputy-bench-chat-')));
  const started = JSON.parse(child.ready[1] ?? '{}') as { url: string; webChat?: { key: string } };
  return { ...started, close: () => child.close() };
}

/** Final-state events from the executor's SSE stream, by run id, for runs submitted directly. */
class RunFinishes {
  private readonly waiters = new Map<string, (event: RunEvent) => void>();
  private readonly early = new Map<string, RunEvent>();
  private readonly stream: ReturnType<typeof followEvents>;

  constructor(executor: ExecutorProcess) {
    this.stream = followEvents(executor.url, executor.token, (event) => {
      if (event.type !== 'run.finished') return;
      const waiter = this.waiters.get(event.run.id);
      if (waiter) waiter(event);
      else this.early.set(event.run.id, event);
    });
  }

  get ready(): Promise<void> {
    return this.stream.ready;
  }

  finished(runId: string): Promise<RunEvent> {
    const early = this.early.get(runId);
    if (early) return Promise.resolve(early);
    return new Promise((resolve) => this.waiters.set(runId, resolve));
  }

  close(): void {
    this.stream.close();
  }
}

interface DirectBurst {
  acceptedMs: number[];
  finishedMs: number[];
  succeeded: number;
}

async function submitDirectly(executor: ExecutorProcess, index: number, message: string): Promise<{ status: number; id: string }> {
  const response = await fetch(`${executor.url}/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${executor.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ actionId: 'echo', principalId: requester(index), inputs: { Message: message }, origin: { kind: 'api' } }),
  });
  return { status: response.status, id: ((await response.json()) as { id: string }).id };
}

/** The baseline: the same action, 200 at once, straight to the executor. */
async function directBurst(executor: ExecutorProcess, runs: RunFinishes, count: number): Promise<DirectBurst> {
  const outcomes = await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const started = performance.now();
      const { status, id } = await submitDirectly(executor, index, `direct-${index}`);
      const acceptedMs = performance.now() - started;
      if (status !== 202) return { acceptedMs, finishedMs: Number.NaN, succeeded: false };
      const event = await runs.finished(id);
      return { acceptedMs, finishedMs: performance.now() - started, succeeded: event.run.state === 'succeeded' };
    }),
  );
  return {
    acceptedMs: outcomes.map((outcome) => outcome.acceptedMs),
    finishedMs: outcomes.map((outcome) => outcome.finishedMs).filter((value) => !Number.isNaN(value)),
    succeeded: outcomes.filter((outcome) => outcome.succeeded).length,
  };
}

interface TeamsBurst {
  answerMs: number[];
  summaryMs: number[];
  /** Invoke answers that carried the run's card (not an error or a "working on it" placeholder). */
  runCards: number;
  failures: number;
}

function adaptiveCardOf(call: RecordedCall): unknown {
  const attachments = (call.body.attachments as { contentType: string; content?: unknown }[] | undefined) ?? [];
  return attachments.find((attachment) => attachment.contentType === 'application/vnd.microsoft.card.adaptive')?.content;
}

/** An Action.Execute submit of the echo form, as Teams posts it from `requester(index)`'s personal chat. */
function teamsSubmission(cloud: FakeBotFrameworkCloud, index: number): { activity: TeamsActivityJson; conversationId: string; formId: string } {
  const who = requester(index);
  const conversation = personalChat();
  const formId = `form-card-${randomUUID()}`;
  const activity = executeActivity(cloud, { id: `29:${who}`, aadObjectId: `aad-${who}`, name: who }, conversation, {
    verb: 'submit-form',
    // What Teams sends for Action.Execute: the button's data plus the inputs' values.
    data: { actionId: 'echo', [formInputId('Message')]: `teams-${index}` },
    replyToId: formId,
  });
  return {
    activity: { ...activity, conversation: { ...activity.conversation, tenantId: FIXTURE_TENANT }, channelData: { tenant: { id: FIXTURE_TENANT } } },
    conversationId: conversation.id,
    formId,
  };
}

/**
 * When each form's summary card arrives (the connector PUT that replaces it with "Succeeded").
 * One predicate sees every connector call once, as it is recorded: 200 separate waiters would
 * each read every card, and the load generator would eat the CPU the bot is measured on.
 */
function watchSummaries(cloud: FakeBotFrameworkCloud, formIds: Set<string>): { arrivals: Map<string, number>; done: Promise<void> } {
  const arrivals = new Map<string, number>();
  const done = cloud
    .waitForCall((call) => {
      const formId = call.activityId;
      if (call.method === 'PUT' && formId !== undefined && formIds.has(formId) && !arrivals.has(formId) && /Succeeded/.test(cardText(adaptiveCardOf(call)))) {
        arrivals.set(formId, performance.now());
      }
      return arrivals.size === formIds.size;
    }, PHASE_TIMEOUT_MS)
    .then(
      () => undefined,
      () => undefined,
    );
  return { arrivals, done };
}

async function teamsBurst(cloud: FakeBotFrameworkCloud, botUrl: string, count: number): Promise<TeamsBurst> {
  // Teams reuses a channel token for its lifetime; botbuilder still verifies it on every activity.
  const token = await cloud.token();
  const submissions = Array.from({ length: count }, (_, index) => teamsSubmission(cloud, index));
  const summaries = watchSummaries(cloud, new Set(submissions.map((submission) => submission.formId)));
  const outcomes = await Promise.all(
    submissions.map(async ({ activity, formId }) => {
      const started = performance.now();
      const answer = await send(`${botUrl}/api/messages`, activity, token);
      const body = answer.body as { statusCode?: number; type?: string; value?: unknown } | undefined;
      const answered = answer.status === 200 && body?.statusCode === 200;
      const runCard = answered && body?.type === 'application/vnd.microsoft.card.adaptive' && /Queued|Running|Succeeded/.test(cardText(body.value));
      return { answerMs: answer.ms, answered, runCard, started, formId };
    }),
  );
  await summaries.done;
  const summaryMs = outcomes.flatMap(({ formId, started }) => {
    const arrived = summaries.arrivals.get(formId);
    return arrived === undefined ? [] : [arrived - started];
  });
  return {
    answerMs: outcomes.map((outcome) => outcome.answerMs),
    summaryMs,
    runCards: outcomes.filter((outcome) => outcome.runCard).length,
    failures: outcomes.filter((outcome) => !outcome.answered).length,
  };
}

interface PreparedForm {
  driver: WebChatDriver;
  form: ObservedMessage;
}

/** Work queued per key, one after another (other keys run alongside). */
const lanes = new Map<string, Promise<unknown>>();
function inLane<T>(key: string, work: () => Promise<T>): Promise<T> {
  const next = (lanes.get(key) ?? Promise.resolve()).then(work, work);
  lanes.set(key, next.catch(() => undefined));
  return next;
}

/**
 * One echo form open in a requester's web chat, as a user gets there: "help", then "Run…" on
 * that list. A persona has one conversation (reloads keep it), so one requester's forms are
 * opened one after another, each from its own list, and each submission gets a form of its own,
 * as a person presses Run on each form once.
 */
function prepareWebChatForm(bot: BotProcess, index: number, taken: Set<string>): Promise<PreparedForm> {
  return inLane(requester(index), async () => {
    const driver = await WebChatDriver.connect(bot, requester(index));
    const before = new Set((await driver.messages()).map((message) => message.id));
    await driver.sendText('help');
    const opensEcho = (message: ObservedMessage) => message.actions.some((action) => action.verb === 'open-form' && action.data.actionId === 'echo' && action.data.fromRunId === undefined);
    await waitForMessage(driver, 'the action list', (messages) => messages.find((message) => !before.has(message.id) && opensEcho(message)), PHASE_TIMEOUT_MS);
    // The list's own button ("Run again" on a run's card names the run).
    await driver.clickAction('open-form', { actionId: 'echo', fromRunId: undefined });
    const form = await waitForMessage(driver, 'an echo form of its own', (messages) => {
      const free = messages.find((message) => !taken.has(message.id) && message.actions.some((action) => action.verb === 'submit-form'));
      if (free) taken.add(free.id);
      return free;
    }, PHASE_TIMEOUT_MS);
    return { driver, form };
  });
}

async function inBatches<T>(count: number, batch: number, work: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count; start += batch) {
    results.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - start) }, (_, offset) => work(start + offset)))));
  }
  return results;
}

/** Direct Line POST of the card's submit, then polling as Web Chat does until the summary replaces the form. */
async function webChatSubmitToSummary({ driver, form }: PreparedForm, index: number): Promise<number> {
  const submit = form.actions.find((action) => action.verb === 'submit-form');
  if (!submit) throw new Error('the form has no submit button');
  const inputs = Object.fromEntries(form.inputs.filter((input) => input.value !== undefined).map((input) => [input.id, input.value]));
  const value = { ...submit.data, ...inputs, [formInputId('Message')]: `webchat-${index}` };
  const started = performance.now();
  await driver.postActivity({ type: 'message', value, channelData: { postBack: true } });
  const deadline = started + PHASE_TIMEOUT_MS;
  for (;;) {
    // Only the form's own activity is read: the load generator shares the bot's CPU.
    const shown = (await driver.rawActivities()).find((activity) => activity.id === form.id);
    const card = shown?.attachments?.find((attachment) => attachment.contentType === 'application/vnd.microsoft.card.adaptive')?.content;
    if (card !== undefined && /Succeeded/.test(cardText(card))) return performance.now() - started;
    if (performance.now() > deadline) throw new Error(`web chat submission ${index} shows no summary after ${PHASE_TIMEOUT_MS} ms`);
    await sleep(WEB_CHAT_POLLING_MS);
  }
}

const ratio = (bot: number[], direct: number[]) => (median(bot) / median(direct)).toFixed(2);

export async function benchChat(): Promise<BenchResult[]> {
  const loadAtStart = loadavg()[0] ?? Number.NaN;
  const cloud = await new FakeBotFrameworkCloud().start();
  let executor: ExecutorProcess;
  try {
    executor = await startExecutorProcess();
  } catch (error) {
    await cloud.close();
    throw error;
  }
  const runs = new RunFinishes(executor);
  let bot: BotProcess | undefined;
  try {
    bot = await startBotProcess(cloud, executor);
    await runs.ready;

    await directBurst(executor, runs, WARM_UP);
    await teamsBurst(cloud, bot.url, WARM_UP);
    const takenForms = new Set<string>();
    await webChatSubmitToSummary(await prepareWebChatForm(bot, 0, takenForms), 0);

    const direct = await directBurst(executor, runs, SUBMISSIONS);
    const teams = await teamsBurst(cloud, bot.url, SUBMISSIONS);
    const forms = await inBatches(SUBMISSIONS, SETUP_CONCURRENCY, (index) => prepareWebChatForm(bot!, index, takenForms));
    const webChat = await Promise.all(forms.map((form, index) => webChatSubmitToSummary(form, index)));

    const p99Answer = percentile(teams.answerMs, 99);
    return [
      {
        name: `baseline: ${SUBMISSIONS} concurrent submissions straight to the executor REST API (trivial pool action)`,
        pass: direct.succeeded === SUBMISSIONS,
        lines: [
          `POST /v1/runs → 202: ${medianAndP99(direct.acceptedMs)}`,
          `POST /v1/runs → final state (SSE): ${medianAndP99(direct.finishedMs)}`,
          `succeeded ${direct.succeeded}/${SUBMISSIONS}`,
          // Shared machine: the figures below mean little without how busy it was.
          `machine load (1-min average) ${loadAtStart.toFixed(1)} at the start, ${(loadavg()[0] ?? Number.NaN).toFixed(1)} at the end, on ${cpus().length} cores`,
        ],
      },
      {
        name: `Teams invoke answer time, ${SUBMISSIONS} concurrent Action.Execute submissions (JWT verified)`,
        pass: teams.failures === 0 && teams.runCards === SUBMISSIONS && p99Answer < GOAL_INVOKE_P99_MS,
        lines: [
          `invoke → answer: ${medianAndP99(teams.answerMs)} (goal p99 < ${GOAL_INVOKE_P99_MS} ms)`,
          `answers carrying the run's card: ${teams.runCards}/${SUBMISSIONS}, refused or failed: ${teams.failures}`,
          `vs executor POST → 202 in the same run: ${ratio(teams.answerMs, direct.acceptedMs)}× the median`,
          `invoke → summary card in place (connector PUT): ${medianAndP99(teams.summaryMs)} (${teams.summaryMs.length}/${SUBMISSIONS})`,
        ],
      },
      {
        name: `web chat submit-to-summary time, ${SUBMISSIONS} concurrent Direct Line submissions`,
        pass: webChat.length === SUBMISSIONS,
        lines: [
          `Direct Line POST → summary seen, polling every ${WEB_CHAT_POLLING_MS} ms: ${medianAndP99(webChat)}`,
          `vs executor POST → final state in the same run: ${ratio(webChat, direct.finishedMs)}× the median`,
        ],
      },
    ];
  } finally {
    runs.close();
    await bot?.close();
    await executor.close();
    await cloud.close();
  }
}
