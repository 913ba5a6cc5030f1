/**
 * The parts of Microsoft's cloud a Teams bot talks to, faked on loopback with their real wire
 * formats so that botbuilder's own code runs unchanged:
 *
 * - the Bot Framework channel's OpenID metadata + JWKS (inbound JWTs are signed with our RSA key),
 * - the Bot Framework connector REST API at the activity's `serviceUrl` (records what the bot sends),
 * - the Azure AD v2 token endpoint (client credentials), over TLS because MSAL only talks https;
 *   its self-signed certificate is trusted only by the MSAL client the test builds (an https agent
 *   option), never process-wide.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';

export const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';
const AAD_TENANT = 'botframework.com';

export interface RecordedCall {
  method: string;
  /** Path with the conversation id decoded. */
  path: string;
  conversationId: string;
  /** The activity id in `/activities/:id` (reply target or updated message). */
  activityId?: string;
  body: Record<string, unknown>;
  authorization: string | undefined;
  /** The id the connector answered with (the new message's id for a POST). */
  resultId?: string;
  /** Arrival order across all calls. */
  seq: number;
}

export interface TokenOptions {
  audience?: string;
  issuer?: string;
  serviceUrl?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  /** Sign with this key instead of the published one (a forgery). */
  signingKey?: KeyObject;
}

/** A self-signed certificate for 127.0.0.1, made with the system's openssl CLI. */
function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'deputy-fake-aad-'));
  try {
    const result = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
        '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { shell: false, encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`openssl failed: ${result.stderr}`);
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

export interface FakeCloudOptions {
  appId?: string;
  appPassword?: string;
  /** Members the connector lists for a conversation (for per-user refresh). */
  members?: (conversationId: string) => { id: string; aadObjectId?: string; name?: string }[];
}

export class FakeBotFrameworkCloud {
  readonly appId: string;
  readonly appPassword: string;
  readonly calls: RecordedCall[] = [];
  readonly issuedTokens = new Set<string>();
  /** Connector calls that arrived without a token the fake AAD issued. */
  unauthorizedConnectorCalls = 0;

  private readonly signingKey: KeyObject;
  private readonly keyId = `test-key-${randomUUID()}`;
  private readonly members: NonNullable<FakeCloudOptions['members']>;
  private readonly waiters: { predicate: (call: RecordedCall) => boolean; resolve: (call: RecordedCall) => void }[] = [];
  private channelServer!: http.Server;
  private aadServer!: https.Server;
  private channelPort = 0;
  private aadPort = 0;
  private nextActivity = 1;
  private readonly files = new Map<string, string>();
  /** Paths of hosted files that were downloaded, in order. */
  readonly downloads: string[] = [];
  caPem = '';

  constructor(options: FakeCloudOptions = {}) {
    this.appId = options.appId ?? randomUUID();
    this.appPassword = options.appPassword ?? `secret-${randomUUID()}`;
    this.members = options.members ?? (() => []);
    this.signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  }

  get serviceUrl(): string {
    return `http://127.0.0.1:${this.channelPort}/`;
  }
  get openIdMetadataUrl(): string {
    return `http://127.0.0.1:${this.channelPort}/v1/.well-known/openidconfiguration`;
  }
  get loginUrl(): string {
    return `https://127.0.0.1:${this.aadPort}/${AAD_TENANT}`;
  }
  get loginHost(): string {
    return `127.0.0.1:${this.aadPort}`;
  }

  async start(): Promise<this> {
    this.channelServer = http.createServer((req, res) => {
      this.handleChannel(req, res).catch((error: unknown) => sendJson(res, 500, { error: String(error) }));
    });
    this.channelPort = await listen(this.channelServer);
    const tls = selfSignedCertificate();
    this.caPem = tls.cert;
    this.aadServer = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      this.handleAad(req, res).catch((error: unknown) => sendJson(res, 500, { error: String(error) }));
    });
    this.aadPort = await listen(this.aadServer);
    return this;
  }

  async close(): Promise<void> {
    for (const server of [this.channelServer, this.aadServer]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** A channel JWT as Teams would send it (signed with the published key unless told otherwise). */
  async token(options: TokenOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = options.expiresIn ?? 3600;
    return new SignJWT({ serviceurl: options.serviceUrl ?? this.serviceUrl })
      .setProtectedHeader({ alg: 'RS256', kid: this.keyId, typ: 'JWT' })
      .setIssuer(options.issuer ?? BOT_FRAMEWORK_ISSUER)
      .setAudience(options.audience ?? this.appId)
      .setIssuedAt(now - 3600 + Math.min(expiresIn, 0))
      .setNotBefore(now - 3600 + Math.min(expiresIn, 0))
      .setExpirationTime(now + expiresIn)
      .sign(options.signingKey ?? this.signingKey);
  }

  /**
   * Hosts a file as SharePoint does for a file a user attaches in a personal chat: a
   * pre-authorized download address, fetched without any token. Answers that address.
   */
  hostFile(name: string, content: string): string {
    const path = `/files/${randomUUID()}/${encodeURIComponent(name)}`;
    this.files.set(path, content);
    return `http://127.0.0.1:${this.channelPort}${path}`;
  }

  /** Resolves with the first recorded connector call (past or future) that matches. */
  waitForCall(predicate: (call: RecordedCall) => boolean, timeoutMs = 5000): Promise<RecordedCall> {
    const seen = this.calls.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a connector call')), timeoutMs);
      this.waiters.push({ predicate, resolve: (call) => { clearTimeout(timer); resolve(call); } });
    });
  }

  private record(arrived: Omit<RecordedCall, 'seq'>): void {
    const call: RecordedCall = { ...arrived, seq: this.calls.length + 1 };
    this.calls.push(call);
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(call)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(call);
      }
    }
  }

  private async handleChannel(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.serviceUrl);
    if (req.method === 'GET' && url.pathname === '/v1/.well-known/openidconfiguration') {
      return sendJson(res, 200, {
        issuer: BOT_FRAMEWORK_ISSUER,
        authorization_endpoint: 'https://invalid.example/v1/.well-known/keys',
        jwks_uri: `http://127.0.0.1:${this.channelPort}/v1/.well-known/keys`,
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
      });
    }
    const hosted = req.method === 'GET' ? this.files.get(url.pathname) : undefined;
    if (hosted !== undefined) {
      this.downloads.push(url.pathname);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(hosted);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/v1/.well-known/keys') {
      const jwk = this.signingKey.export({ format: 'jwk' });
      return sendJson(res, 200, {
        keys: [{ kty: 'RSA', use: 'sig', kid: this.keyId, n: jwk.n, e: jwk.e, endorsements: ['msteams'] }],
      });
    }
    return this.handleConnector(req, res, url);
  }

  /** The connector's REST API (v3), as botframework-connector's ConnectorClient calls it. */
  private async handleConnector(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const authorization = req.headers.authorization;
    const token = authorization?.replace(/^Bearer /, '');
    if (!token || !this.issuedTokens.has(token)) {
      this.unauthorizedConnectorCalls += 1;
      return sendJson(res, 401, { error: { code: 'Unauthorized', message: 'Authorization has been denied for this request.' } });
    }
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'v3' || parts[1] !== 'conversations') return sendJson(res, 404, { error: { code: 'NotFound' } });
    const conversationId = parts[2] ?? '';
    if (req.method === 'POST' && parts.length === 2) {
      const body = await readJson(req);
      const newConversation = `a:proactive-${this.nextActivity++}`;
      this.record({ method: 'POST', path: '/v3/conversations', conversationId: newConversation, body, authorization, resultId: newConversation });
      return sendJson(res, 200, { id: newConversation, activityId: String(this.nextActivity++) });
    }
    if (req.method === 'GET' && parts[3] === 'pagedmembers') {
      const pageSize = Number(url.searchParams.get('pageSize') ?? '200');
      const all = this.members(conversationId);
      const page = all.slice(0, pageSize);
      return sendJson(res, 200, { members: page, ...(all.length > pageSize ? { continuationToken: 'next-page' } : {}) });
    }
    if (parts[3] === 'activities' && (req.method === 'POST' || req.method === 'PUT')) {
      const body = await readJson(req);
      const activityId = parts[4];
      const id = req.method === 'PUT' && activityId ? activityId : `msg-${this.nextActivity++}`;
      this.record({ method: req.method, path: url.pathname, conversationId, ...(activityId ? { activityId } : {}), body, authorization, resultId: id });
      return sendJson(res, 200, { id });
    }
    return sendJson(res, 404, { error: { code: 'NotFound' } });
  }

  /** Azure AD v2: tenant metadata and the client-credentials token endpoint. */
  private async handleAad(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const base = `https://${this.loginHost}/${AAD_TENANT}`;
    const url = new URL(req.url ?? '/', `https://${this.loginHost}`);
    if (req.method === 'GET' && url.pathname === `/${AAD_TENANT}/v2.0/.well-known/openid-configuration`) {
      return sendJson(res, 200, {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        issuer: `https://${this.loginHost}/${AAD_TENANT}/v2.0`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_types_supported: ['code', 'id_token', 'token'],
      });
    }
    if (req.method === 'POST' && url.pathname === `/${AAD_TENANT}/oauth2/v2.0/token`) {
      const form = await readForm(req);
      const valid =
        form.get('grant_type') === 'client_credentials' &&
        form.get('client_id') === this.appId &&
        form.get('client_secret') === this.appPassword &&
        form.get('scope') === `${BOT_FRAMEWORK_ISSUER}/.default`;
      if (!valid) return sendJson(res, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
      const accessToken = `fake-aad-${randomUUID()}`;
      this.issuedTokens.add(accessToken);
      return sendJson(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: accessToken });
    }
    return sendJson(res, 404, { error: 'not_found' });
  }
}
