/**
 * A real PostgreSQL for the tests. With `DEPUTY_TEST_DATABASE_URL` set, that server is used (the
 * URL's role needs CREATEDB). Otherwise the first suite that asks starts a private cluster with
 * Debian's PostgreSQL binaries: `initdb` into a folder under the system's temporary directory
 * (world-traversable, so the `postgres` account can enter it even when the clone lives in a 0700
 * folder such as /root/x), listening on 127.0.0.1 on a free port with its unix socket in that
 * folder, fsync off. The root hook in test/hooks/postgres.ts stops and removes it at the end.
 *
 * Every suite gets a database of its own (`testDatabase()`), created with a random name and
 * dropped when the suite is done, so suites never see each other's rows.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);
const SERVICE_ACCOUNT = 'postgres';

export interface Cluster {
  /** A URL on the maintenance database, for CREATE and DROP DATABASE. */
  adminUrl: string;
  stop(): void;
}

let cluster: Promise<Cluster> | undefined;

/** Debian installs each major version under /usr/lib/postgresql/<major>/bin; take the newest. */
function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const major of majors) {
    const bin = join(root, major, 'bin');
    if (existsSync(join(bin, 'initdb'))) return bin;
  }
  throw new Error(
    'The storage tests need PostgreSQL: install Debian\'s postgresql package (.ci/run does), or set DEPUTY_TEST_DATABASE_URL to a server whose role may CREATE DATABASE.',
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** PostgreSQL refuses to run as root: as root, its commands run as the `postgres` account. */
function asServiceAccount(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', SERVICE_ACCOUNT, '--', command, ...args]] : [command, args];
}

/**
 * Starts a private cluster. Tests run it with fsync off (nothing of it must survive a crash);
 * benchmarks pass `durable: true`, so commits cost what they cost in production.
 */
export async function startPostgresCluster(options: { durable?: boolean } = {}): Promise<Cluster> {
  const bin = postgresBin();
  const folder = mkdtempSync(join(tmpdir(), 'deputy-pg-'));
  const dataDir = join(folder, 'data');
  const password = randomBytes(18).toString('hex');
  const passwordFile = join(folder, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    const { uid, gid } = accountIds(SERVICE_ACCOUNT);
    chownSync(folder, uid, gid);
    chownSync(passwordFile, uid, gid);
  }
  const removeFolder = () => rmSync(folder, { recursive: true, force: true });
  try {
    const [initdb, initArgs] = asServiceAccount(join(bin, 'initdb'), [
      '-D', dataDir, '-U', 'deputy', `--pwfile=${passwordFile}`, '--auth-local=peer', '--auth-host=scram-sha-256',
      '-E', 'UTF8', '--locale=C', '--no-sync',
    ]);
    await run(initdb, initArgs, { timeout: 120_000 });
    let lastError: unknown;
    // A port found free can be taken before the server binds it; try another then.
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const port = await freePort();
      const settings = [
        '-c listen_addresses=127.0.0.1', `-p ${port}`, `-k ${folder}`, '-c max_connections=200',
        ...(options.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
      ].join(' ');
      const [pgCtl, ctlArgs] = asServiceAccount(join(bin, 'pg_ctl'), ['-D', dataDir, '-l', join(folder, 'server.log'), '-o', settings, '-w', '-t', '120', 'start']);
      try {
        await run(pgCtl, ctlArgs, { timeout: 150_000 });
      } catch (error) {
        lastError = `${String(error)}\n${serverLog(folder)}`;
        continue;
      }
      const stop = () => {
        const [command, args] = asServiceAccount(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
        spawnSync(command, args, { stdio: 'ignore', timeout: 60_000 });
        removeFolder();
      };
      process.once('exit', stop);
      return { adminUrl: `postgres://deputy:${password}@127.0.0.1:${port}/postgres`, stop: () => (process.off('exit', stop), stop()) };
    }
    throw new Error(`PostgreSQL did not start: ${String(lastError)}`);
  } catch (error) {
    removeFolder();
    throw error;
  }
}

function serverLog(folder: string): string {
  try {
    return readFileSync(join(folder, 'server.log'), 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no server log)';
  }
}

function accountIds(account: string): { uid: number; gid: number } {
  const uid = Number(spawnSync('id', ['-u', account], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', account], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid <= 0) throw new Error(`there is no "${account}" account to run PostgreSQL as`);
  return { uid, gid };
}

function ensureCluster(): Promise<Cluster> {
  const external = process.env.DEPUTY_TEST_DATABASE_URL;
  cluster ??= external ? Promise.resolve({ adminUrl: external, stop: () => {} }) : startPostgresCluster();
  return cluster;
}

export interface TestDatabase {
  url: string;
  /** Drops the database, ending any connection still open on it. */
  drop(): Promise<void>;
}

/** Runs `work` on a connection of its own to `url`, closed afterwards. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new, empty database on the test server (or on the given server). */
export async function createTestDatabase(adminUrl?: string): Promise<TestDatabase> {
  adminUrl ??= (await ensureCluster()).adminUrl;
  const name = `deputy_test_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const admin = adminUrl;
  return {
    url: url.toString(),
    drop: () => withClient(admin, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/**
 * Gives the surrounding `describe` a database of its own: created before its tests, dropped after.
 * Returns a getter, since the URL exists only once `before` has run.
 */
/** Drops schemas (and everything in them), so the next store starts on an empty, freshly migrated database. */
export function dropSchemas(url: string, ...schemas: string[]): Promise<unknown> {
  return withClient(url, (client) => client.query(schemas.map((schema) => `DROP SCHEMA IF EXISTS ${schema} CASCADE`).join('; ')));
}

export function useTestDatabase(): () => string {
  let database: TestDatabase | undefined;
  before(async function () {
    // initdb and the first start take a few seconds on a loaded machine.
    this.timeout(180_000);
    database = await createTestDatabase();
  });
  after(async function () {
    this.timeout(60_000);
    await database?.drop();
  });
  return () => {
    if (!database) throw new Error('the test database is not ready (useTestDatabase() must be called inside describe)');
    return database.url;
  };
}

/** Stops the private cluster, if this process started one (the root hook calls it). */
export async function stopTestCluster(): Promise<void> {
  if (!cluster) return;
  const started = await cluster.catch(() => undefined);
  cluster = undefined;
  started?.stop();
}
