/**
 * The tenant tree. A principal manages their own tenant and the tenants below it; objects of
 * a tenant above are visible there but read-only; nothing is reachable sideways.
 *
 * The tree reads tenants through a lookup, so it always sees the catalog as it is now. A
 * tenant whose parent chain is broken (a cycle, or a parent that does not exist) has no
 * place in the tree: it counts as unknown, and the policy refuses anything that needs it.
 */
import type { Tenant } from '../domain.ts';

export type TenantLookup = (id: string) => Tenant | undefined;

/**
 * Where an object's tenant stands, seen from a principal's tenant:
 * `self`, `descendant` (below it), `ancestor` (above it), `unrelated` (sideways),
 * or `unknown` (either tenant is unknown or has a broken chain).
 */
export type TenantRelation = 'self' | 'descendant' | 'ancestor' | 'unrelated' | 'unknown';

export class TenantTree {
  constructor(private readonly lookup: TenantLookup) {}

  /** A tree over a fixed list. An id listed twice is ambiguous, so it counts as unknown. */
  static fromList(tenants: readonly Tenant[]): TenantTree {
    const byId = new Map<string, Tenant>();
    const duplicated = new Set<string>();
    for (const tenant of tenants) {
      if (byId.has(tenant.id)) duplicated.add(tenant.id);
      byId.set(tenant.id, tenant);
    }
    return new TenantTree((id) => (duplicated.has(id) ? undefined : byId.get(id)));
  }

  /**
   * The tenant followed by its ancestors up to the root, nearest first; `undefined` when the
   * tenant is unknown or its chain loops or names a missing parent.
   */
  lineage(id: string): string[] | undefined {
    const line: string[] = [];
    const seen = new Set<string>();
    let current: string | undefined = id;
    while (current !== undefined) {
      if (seen.has(current)) return undefined;
      const tenant = this.lookup(current);
      if (tenant === undefined || tenant.id !== current) return undefined;
      seen.add(current);
      line.push(current);
      current = tenant.parent;
    }
    return line;
  }

  /** The ancestors of a tenant, nearest first (empty for a root); `undefined` as for `lineage`. */
  ancestors(id: string): string[] | undefined {
    return this.lineage(id)?.slice(1);
  }

  isKnown(id: string): boolean {
    return this.lineage(id) !== undefined;
  }

  /** True when `id` is `root` or lies below it. False when either is unknown. */
  isSelfOrDescendant(id: string, root: string): boolean {
    return this.isKnown(root) && (this.lineage(id)?.includes(root) ?? false);
  }

  /** True when `ancestor` lies strictly above `id`. False when either is unknown. */
  isAncestor(ancestor: string, id: string): boolean {
    return this.isKnown(ancestor) && (this.ancestors(id)?.includes(ancestor) ?? false);
  }

  relation(viewer: string, object: string): TenantRelation {
    const viewerLine = this.lineage(viewer);
    const objectLine = this.lineage(object);
    if (viewerLine === undefined || objectLine === undefined) return 'unknown';
    if (viewer === object) return 'self';
    if (objectLine.includes(viewer)) return 'descendant';
    if (viewerLine.includes(object)) return 'ancestor';
    return 'unrelated';
  }
}
