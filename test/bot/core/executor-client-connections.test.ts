/** The executor client's kept-alive connections: a burst of calls shares a bounded few instead of opening one each. */
import { strict as assert } from 'node:assert';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExecutorClient } from '../../../bot/core/executor-client.ts';

const BURST = 100;
/** The client's bound (MAX_CONNECTIONS in bot/core/executor-client.ts). */
const BOUND = 32;

describe('executor client connections', () => {
  let server: Server;
  let client: ExecutorClient;
  let connections = 0;
  let answered = 0;
  const held: ServerResponse[] = [];

  beforeEach(async () => {
    connections = 0;
    answered = 0;
    // Answers are held until as many calls as the bound allows are in flight at once, so a
    // client without a bound has its whole burst open at the same time.
    server = createServer((_req, res) => {
      held.push(res);
      if (held.length < Math.min(BOUND, BURST - answered)) return;
      for (const waiting of held.splice(0)) {
        answered++;
        waiting.writeHead(200, { 'content-type': 'application/json' });
        waiting.end(JSON.stringify({ actions: [] }));
      }
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new ExecutorClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 't' });
  });

  afterEach(async () => {
    await client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it(`sends a burst of ${BURST} calls over at most ${BOUND} connections, and the next burst over the same ones`, async () => {
    const burst = () => Promise.all(Array.from({ length: BURST }, () => client.listActions('alex')));
    assert.equal((await burst()).length, BURST);
    assert.ok(connections <= BOUND, `${connections} connections for one burst`);
    const afterFirst = connections;
    answered = 0;
    await burst();
    assert.equal(connections, afterFirst, 'the second burst opened connections of its own');
  });
});
