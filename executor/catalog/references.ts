/**
 * Checks that go across entries of catalog.yaml: unique ids, tenants that exist and form a
 * tree, principals, identities that name one person only.
 */
import type { CatalogEntries, Located } from './file.ts';
import type { KeyPath, YamlSource } from './yaml-source.ts';

/** Reports every id used twice in a section, naming the line of its first use. */
export function checkUniqueIds<T extends { id: string }>(source: YamlSource, section: string, items: Located<T>[], problems: string[]): void {
  const firstLine = new Map<string, number>();
  for (const { index, entry } of items) {
    const first = firstLine.get(entry.id);
    if (first === undefined) firstLine.set(entry.id, source.lineOf([section, index]));
    else problems.push(source.problem([section, index, 'id'], `duplicate id "${entry.id}" (first defined on line ${first})`));
  }
}

export function checkTenants(source: YamlSource, entries: CatalogEntries, problems: string[]): void {
  checkUniqueIds(source, 'tenants', entries.tenants, problems);
  const parents = new Map(entries.tenants.map(({ entry }) => [entry.id, entry.parent]));
  for (const { index, entry } of entries.tenants) {
    if (entry.parent === undefined) continue;
    if (!parents.has(entry.parent)) {
      problems.push(source.problem(['tenants', index, 'parent'], `unknown tenant "${entry.parent}"`));
      continue;
    }
    const chain = [entry.id];
    for (let current: string | undefined = entry.parent; current !== undefined; current = parents.get(current)) {
      chain.push(current);
      if (current === entry.id) {
        problems.push(source.problem(['tenants', index, 'parent'], `tenants form a cycle: ${chain.join(' → ')}`));
        break;
      }
      if (chain.length > parents.size + 1) break; // a cycle above this tenant, reported at its own members
    }
  }
}

export function checkPrincipals(source: YamlSource, entries: CatalogEntries, tenants: ReadonlySet<string>, problems: string[]): void {
  checkUniqueIds(source, 'principals', entries.principals, problems);
  const owners = new Map<string, string>();
  const claim = (path: KeyPath, identity: string, principal: string) => {
    const owner = owners.get(identity);
    if (owner !== undefined && owner !== principal) problems.push(source.problem(path, `this identity already belongs to principal "${owner}"`));
    else owners.set(identity, principal);
  };
  for (const { index, entry } of entries.principals) {
    if (!tenants.has(entry.tenant)) problems.push(source.problem(['principals', index, 'tenant'], `unknown tenant "${entry.tenant}"`));
    const identities = entry.identities ?? {};
    const base = ['principals', index, 'identities'];
    if (identities.webchat) claim([...base, 'webchat'], `webchat:${identities.webchat}`, entry.id);
    if (identities.slack) claim([...base, 'slack'], `slack:${identities.slack.teamId}:${identities.slack.userId}`, entry.id);
    if (identities.teams) claim([...base, 'teams'], `teams:${identities.teams.tenantId}:${identities.teams.aadObjectId}`, entry.id);
  }
}

/** True when `tenant` is `ancestor` or lies below it. */
export function isWithin(tenant: string, ancestor: string, parents: ReadonlyMap<string, string | undefined>): boolean {
  const seen = new Set<string>();
  for (let current: string | undefined = tenant; current !== undefined && !seen.has(current); current = parents.get(current)) {
    if (current === ancestor) return true;
    seen.add(current);
  }
  return false;
}
