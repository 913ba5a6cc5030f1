/** The executor REST client and its event stream, against a real executor on loopback. */
import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventStream } from '../../../bot/core/event-stream.ts';
import { ExecutorClient } from '../../../bot/core/executor-client.ts';
import { DeputyError, ERRORS, type RunEvent } from '../../../executor/contract/index.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { removeDataFolder, startTestExecutor, type TestExecutor } from '../../helpers/executor.ts';
import { BOT_TEST_CATALOG } from '../webchat/harness.ts';

async function rejection(promise: Promise<unknown>): Promise<DeputyError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DeputyError, `a DeputyError, got ${String(error)}`);
    return error;
  }
  return assert.fail('expected a rejection');
}

describe('executor event stream', () => {
  const missed = (seq: number, planId: string) => JSON.stringify({ seq, type: 'plan.missed', plan: { id: planId, tenant: 't', principalId: 'p', actionId: 'a' }, missed: { count: 1, first: 'x', last: 'x' }, notify: [] });

  it('reads events split across chunks, CRLF line endings, comments and multi-line data, and resumes from the last id', async () => {
    const lastIds: (string | undefined)[] = [];
    const server: Server = createServer((req, res) => {
      lastIds.push(req.headers['last-event-id'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (lastIds.length > 1) return res.end(lastIds.length === 2 ? `id: 3\ndata: ${missed(3, 'after-reconnect')}\n\n` : '');
      const whole = missed(1, 'split');
      const cut = whole.indexOf(',"type"') + 1;
      const [head, tail] = [whole.slice(0, cut), whole.slice(cut)];
      const chunks = [': connected\n\nid: 1\nevent: plan.mis', `sed\r\ndata: ${head}\r\ndata: ${tail}\r\n\r\n`, `: keep-alive\n\ndata:${missed(2, 'no-space')}\n\n`];
      // Each chunk on its own write, a moment apart, so the reader sees the boundaries.
      const write = (index: number): void => {
        if (index === chunks.length) return void res.end();
        res.write(chunks[index]);
        setTimeout(() => write(index + 1), 20);
      };
      write(0);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const plans: string[] = [];
    const stream = new EventStream({
      client: new ExecutorClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 't' }),
      logger: silentLogger(),
      onEvent: (event) => void ('plan' in event && plans.push(event.plan.id)),
      initialBackoffMs: 20,
    });
    try {
      stream.start();
      const deadline = Date.now() + 10_000;
      while (plans.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      // Multi-line data joins with a newline, which JSON reads as white space between the halves.
      assert.deepEqual(plans, ['split', 'no-space', 'after-reconnect']);
      assert.deepEqual(lastIds.slice(0, 2), [undefined, '2'], 'an event without an id resumes from its seq');
    } finally {
      await stream.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('executor client', function () {
  this.timeout(60_000);
  let executor: TestExecutor;
  let client: ExecutorClient;

  before(async () => {
    executor = await startTestExecutor({ catalog: BOT_TEST_CATALOG });
    client = new ExecutorClient({ baseUrl: executor.url, token: executor.token });
  });
  after(async () => {
    await executor?.dispose();
    // The restart test hands the folder over, so dispose() leaves it: remove it here.
    if (executor) removeDataFolder(executor.dataDir);
  });

  it('resolves a chat identity to its principal, and an unknown one to DEPUTY_E_NOT_ENROLLED', async () => {
    const principal = await client.resolveIdentity({ channel: 'webchat', persona: 'alex' });
    assert.deepEqual(principal, { id: 'alex', name: 'Alex (helpdesk)', tenant: 'hamburg', roles: ['administrator'] });
    const error = await rejection(client.resolveIdentity({ channel: 'slack', teamId: 'T1', userId: 'U-NOBODY' }));
    assert.equal(error.code, 'DEPUTY_E_NOT_ENROLLED');
  });

  it('sends the correlation id, and maps a refused token to DEPUTY_E_UNAUTHENTICATED', async () => {
    const wrong = new ExecutorClient({ baseUrl: executor.url, token: 'x'.repeat(40) });
    const correlationId = '0b8c2a5e-1d2f-4c3b-9a8e-7f6d5c4b3a21';
    const error = await rejection(wrong.listPersonas({ correlationId }));
    assert.equal(error.code, 'DEPUTY_E_UNAUTHENTICATED');
    assert.match(error.detail ?? '', new RegExp(correlationId), 'the executor used our correlation id');
  });

  it('maps a network failure to DEPUTY_E_EXECUTOR_UNREACHABLE', async () => {
    const offline = new ExecutorClient({ baseUrl: 'http://127.0.0.1:9', token: executor.token });
    const error = await rejection(offline.listActions('alex'));
    assert.equal(error.code, 'DEPUTY_E_EXECUTOR_UNREACHABLE');
    assert.equal(error.message, ERRORS.DEPUTY_E_EXECUTOR_UNREACHABLE.message);
    assert.equal(await offline.isReady(), false);
    assert.equal(await client.isReady(), true);
  });

  it('refuses an answer that breaks the contract', async () => {
    const liar: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ actions: [{ id: 'no-title' }] }));
    });
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    try {
      const error = await rejection(new ExecutorClient({ baseUrl: `http://127.0.0.1:${(liar.address() as AddressInfo).port}`, token: 't' }).listActions('alex'));
      assert.equal(error.code, 'DEPUTY_E_INTERNAL');
      assert.match(error.detail ?? '', /does not match the contract/);
    } finally {
      await new Promise((resolve) => liar.close(resolve));
    }
  });

  it('carries the per-field messages of a validation error, runs, lists, and reads the full output', async () => {
    const invalid = await rejection(client.createRun({ actionId: 'echo', principalId: 'alex', inputs: { Times: 3 }, origin: { kind: 'api' } }));
    assert.equal(invalid.code, 'DEPUTY_E_VALIDATION');
    assert.ok(invalid.fields?.Message, JSON.stringify(invalid.fields));

    const created = await client.createRun({ actionId: 'count', principalId: 'alex', inputs: { Upto: 3 }, origin: { kind: 'api' } });
    const run = await executor.waitForRun(created.id);
    assert.equal(run.state, 'succeeded');
    // The bot's token reads only on someone's behalf.
    const asAlex = { principal: 'alex' };
    assert.equal((await client.getRun(created.id, asAlex)).state, 'succeeded');
    assert.equal(await client.getRunOutput(created.id, asAlex), 'line 1\nline 2\nline 3');
    const listed = await client.listRuns({ principal: 'alex', limit: 5 });
    assert.equal(listed[0]?.id, created.id, 'newest first');
    const notFound = await rejection(client.getRun('run_nope', asAlex));
    assert.equal(notFound.code, 'DEPUTY_E_NOT_FOUND');
    assert.equal((await rejection(client.listRuns({ limit: 5 }))).code, 'DEPUTY_E_FORBIDDEN', 'not across principals');
  });

  it('follows the event stream, and after the executor restarts, reconnects and goes on', async () => {
    const events: RunEvent[] = [];
    const stream = new EventStream({ client, logger: silentLogger(), onEvent: (event) => void ('run' in event && events.push(event)), initialBackoffMs: 50, maxBackoffMs: 200 });
    stream.start();
    await stream.connected();
    const first = await client.createRun({ actionId: 'echo', principalId: 'alex', inputs: { Message: 'before' }, origin: { kind: 'api' } });
    await executor.waitForRun(first.id);
    const waitFor = async (runId: string) => {
      const deadline = Date.now() + 20_000;
      while (!events.some((event) => event.run.id === runId && event.type === 'run.finished')) {
        if (Date.now() > deadline) assert.fail(`no run.finished for ${runId}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    await waitFor(first.id);
    assert.deepEqual(events.filter((event) => event.run.id === first.id).map((event) => event.type).at(0), 'run.created');

    // Same port and data folder: a restart as an operator would do it.
    const { port, dataDir, token } = executor;
    await executor.close();
    executor = await startTestExecutor({ catalog: BOT_TEST_CATALOG, dataDir, config: { port, tokens: [token] } });
    const second = await client.createRun({ actionId: 'echo', principalId: 'alex', inputs: { Message: 'after' }, origin: { kind: 'api' } });
    await waitFor(second.id);
    await stream.close();
  });
});
