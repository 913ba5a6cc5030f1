import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { importCatalog } from '../../../executor/catalog/import.ts';
import { isDeputyError } from '../../../executor/contract/index.ts';
import { locatePwsh, PROJECT_ROOT } from '../../../executor/pwsh/locate.ts';
import type { CatalogSnapshot } from '../../../executor/store/port.ts';
import { ManualClock } from '../../../lib/clock.ts';
import { silentLogger } from '../../../lib/logger.ts';
import { MailListener } from '../../../executor/mail/listener.ts';
import type { InboundMail } from '../../../executor/mail/index.ts';
import { actionFromSubject, inputsFromBody } from '../../../executor/mail/command.ts';
import { senderAllowList } from '../../../executor/mail/senders.ts';
import type { AutomationCatalog } from '../connectors/fixture.ts';
import { prepareMailCatalog, sendMail } from './fixture.ts';

type Document = { connectors: Record<string, unknown>[]; plans: Record<string, unknown>[] };

describe('mail connector: catalog rules, command parsing, login', function () {
  this.timeout(60_000);
  const clock = new ManualClock(Date.UTC(2026, 3, 1));
  let catalog: AutomationCatalog;
  let base: CatalogSnapshot;
  const file = () => join(catalog.folder, 'catalog.yaml');
  const original = () => parse(readFileSync(file(), 'utf8')) as Document;

  /** Imports a variant on top of the known versions (no pwsh needed): its problem lines, or [] when accepted. */
  async function problems(edit: (document: Document) => void): Promise<string[]> {
    const document = original();
    edit(document);
    const text = stringify(document);
    const keep = readFileSync(file(), 'utf8');
    writeFileSync(file(), text);
    try {
      await importCatalog({ folder: catalog.folder, previous: base, pwshPath: '/nonexistent/pwsh', clock });
      return [];
    } catch (error) {
      assert.ok(isDeputyError(error) && error.code === 'DEPUTY_E_CATALOG_INVALID', String(error));
      return error.message.split('\n');
    } finally {
      writeFileSync(file(), keep);
    }
  }
  const mailbox = (document: Document) => document.connectors.find((connector) => connector.id === 'mailbox') as Record<string, unknown>;

  before(async () => {
    catalog = prepareMailCatalog(2525);
    const pwsh = locatePwsh(process.env, PROJECT_ROOT)?.path ?? assert.fail('pwsh not found');
    base = (await importCatalog({ folder: catalog.folder, previous: { tenants: [], principals: [], scripts: [], versions: [], actions: [] }, pwshPath: pwsh, clock })).snapshot;
  });
  after(() => catalog?.cleanup());

  it('imports a mail connector with its fields', () => {
    const connector = base.connectors?.find((candidate) => candidate.id === 'mailbox');
    assert.equal(connector?.kind, 'mail');
    assert.deepEqual(connector?.listen, { host: '127.0.0.1', port: 0 });
    assert.deepEqual(connector?.replyVia, { host: '127.0.0.1', port: 2525 });
  });

  it('refuses a non-loopback listen address unless senders must log in', async () => {
    const open = await problems((document) => (mailbox(document).listen = { host: '0.0.0.0', port: 2525 }));
    assert.ok(open.some((line) => line.includes('"0.0.0.0" is not a loopback address: set requireAuth')), open.join('\n'));
    const withLogin = await problems((document) => {
      mailbox(document).listen = { host: '0.0.0.0', port: 2525 };
      mailbox(document).requireAuth = { userEnv: 'MAIL_USER', passwordEnv: 'MAIL_PASSWORD' };
    });
    assert.deepEqual(withLogin, []);
  });

  it('refuses web-hook keys on a mail connector, bad sender patterns, and plans triggered by mail or for an action the connector lacks', async () => {
    const keys = await problems((document) => {
      mailbox(document).secretFile = 'hook.key';
      mailbox(document).allowSenders = ['not an address'];
    });
    assert.ok(keys.some((line) => line.includes('secretFile') && line.includes('unknown key')), keys.join('\n'));
    assert.ok(keys.some((line) => line.includes('an address (a@b.example) or a domain')), keys.join('\n'));
    const byMail = await problems((document) => document.plans.push({ id: 'by-mail', principal: 'alex', action: 'echo', trigger: { connector: 'mailbox' } }));
    assert.ok(byMail.some((line) => line.includes('is a mail connector; plans are triggered by web service connectors only')), byMail.join('\n'));
    const otherAction = await problems((document) => document.plans.push({ id: 'other', principal: 'alex', action: 'use-credential', trigger: { connector: 'itsm' } }));
    assert.ok(otherAction.some((line) => line.includes(`"use-credential" is not one of connector "itsm"'s actions`)), otherAction.join('\n'));
    const twice = await problems((document) =>
      document.plans.push({ id: 't1', principal: 'alex', action: 'echo', trigger: { connector: 'itsm' } }, { id: 't2', principal: 'alex', action: 'echo', trigger: { connector: 'itsm' } }),
    );
    assert.ok(twice.some((line) => line.includes('plan "t1" already runs "echo" for connector "itsm"')), twice.join('\n'));
  });

  it('reads the action from the subject and Name: value lines from the body', () => {
    assert.equal(actionFromSubject('Run set-ooo'), 'set-ooo');
    assert.equal(actionFromSubject('  [Deputy] run set-ooo '), 'set-ooo');
    assert.equal(actionFromSubject('[deputy] set-ooo'), 'set-ooo');
    assert.equal(actionFromSubject('Re: Run set-ooo'), undefined, 'a reply is not a command');
    assert.equal(actionFromSubject('Run set-ooo now please'), undefined);
    assert.deepEqual(inputsFromBody('Hi,\r\nuser: alice\r\nDays: 3\nNote: a: b\nGroups: a\nGroups: b\n-- \nUser: mallory', ['User', 'Days', 'Note', 'Groups']), {
      User: 'alice',
      Days: '3',
      Note: 'a: b',
      Groups: ['a', 'b'],
    });
    assert.deepEqual(inputsFromBody('Unknown: x\n__proto__: y', ['User']), {});
    const senders = senderAllowList(['Alice@Contoso.example', '@ops.contoso.example']);
    assert.ok(senders.allows('alice@contoso.example'));
    assert.ok(senders.allows('bob@OPS.contoso.example'));
    assert.ok(!senders.allows('bob@sub.ops.contoso.example'));
    assert.ok(!senders.allows('alice@contoso.example.evil'));
    assert.ok(!senders.allows(undefined));
  });

  it('with requireAuth, accepts only senders that log in with the configured user and password', async () => {
    const received: InboundMail[] = [];
    const listener = new MailListener({
      connector: { id: 'authed', principal: 'mail-bot', actions: ['echo'], allowSources: [], mapping: {}, kind: 'mail', listen: { host: '127.0.0.1', port: 0 }, requireAuth: { userEnv: 'MAIL_USER', passwordEnv: 'MAIL_PASSWORD' } },
      handle: async (mail) => {
        received.push(mail);
        return { kind: 'ignored', reason: 'test', correlationId: 'c' };
      },
      env: { MAIL_USER: 'deputy', MAIL_PASSWORD: 'correct horse battery staple' },
      logger: silentLogger(),
    });
    const { port } = await listener.listen();
    try {
      const mail = { from: 'alice@contoso.example', subject: 'Run echo', text: 'Message: hi' };
      await assert.rejects(sendMail(port, mail), /auth|530|Authentication/i);
      await assert.rejects(sendMail(port, { ...mail, auth: { user: 'deputy', pass: 'wrong' } }), /Invalid username or password/);
      await sendMail(port, { ...mail, auth: { user: 'deputy', pass: 'correct horse battery staple' } });
      assert.equal(received.length, 1);
      assert.equal(received[0]?.subject, 'Run echo');
    } finally {
      await listener.close();
    }
  });
});
