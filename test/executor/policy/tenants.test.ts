import assert from 'node:assert/strict';
import type { Tenant } from '../../../executor/domain.ts';
import { TenantTree } from '../../../executor/policy/tenants.ts';

/**
 *        contoso                fabrikam
 *        /      \
 *   hamburg    munich
 *      |
 *   hamburg-port
 * plus a loop (loop-a → loop-b → loop-a), a tenant below the loop, and one whose parent is missing.
 */
const tree = TenantTree.fromList([
  { id: 'contoso', name: 'Contoso' },
  { id: 'hamburg', name: 'Hamburg', parent: 'contoso' },
  { id: 'munich', name: 'Munich', parent: 'contoso' },
  { id: 'hamburg-port', name: 'Hamburg port', parent: 'hamburg' },
  { id: 'fabrikam', name: 'Fabrikam' },
  { id: 'loop-a', name: 'Loop A', parent: 'loop-b' },
  { id: 'loop-b', name: 'Loop B', parent: 'loop-a' },
  { id: 'below-loop', name: 'Below the loop', parent: 'loop-a' },
  { id: 'self-parent', name: 'Its own parent', parent: 'self-parent' },
  { id: 'orphan', name: 'Orphan', parent: 'gone' },
]);

describe('tenant tree', () => {
  it('relates a tenant to itself, its child and its grandchild as manageable', () => {
    assert.equal(tree.relation('hamburg', 'hamburg'), 'self');
    assert.equal(tree.relation('contoso', 'hamburg'), 'descendant');
    assert.equal(tree.relation('contoso', 'hamburg-port'), 'descendant');
    assert.ok(tree.isSelfOrDescendant('hamburg', 'hamburg'));
    assert.ok(tree.isSelfOrDescendant('hamburg-port', 'contoso'));
  });

  it('sees parents and grandparents as ancestors, not as manageable', () => {
    assert.equal(tree.relation('hamburg', 'contoso'), 'ancestor');
    assert.equal(tree.relation('hamburg-port', 'contoso'), 'ancestor');
    assert.equal(tree.isSelfOrDescendant('contoso', 'hamburg'), false);
    assert.ok(tree.isAncestor('contoso', 'hamburg-port'));
    assert.equal(tree.isAncestor('hamburg-port', 'contoso'), false);
    assert.equal(tree.isAncestor('hamburg', 'hamburg'), false, 'a tenant is not its own ancestor');
  });

  it('keeps siblings, cousins and other trees unrelated', () => {
    assert.equal(tree.relation('hamburg', 'munich'), 'unrelated');
    assert.equal(tree.relation('munich', 'hamburg-port'), 'unrelated');
    assert.equal(tree.relation('hamburg-port', 'munich'), 'unrelated');
    assert.equal(tree.relation('contoso', 'fabrikam'), 'unrelated');
    assert.equal(tree.isSelfOrDescendant('munich', 'hamburg'), false);
  });

  it('lists ancestors nearest first', () => {
    assert.deepEqual(tree.ancestors('hamburg-port'), ['hamburg', 'contoso']);
    assert.deepEqual(tree.ancestors('contoso'), []);
    assert.deepEqual(tree.lineage('hamburg-port'), ['hamburg-port', 'hamburg', 'contoso']);
  });

  it('treats unknown tenants as unknown, never as related', () => {
    assert.equal(tree.isKnown('atlantis'), false);
    assert.equal(tree.ancestors('atlantis'), undefined);
    assert.equal(tree.relation('atlantis', 'contoso'), 'unknown');
    assert.equal(tree.relation('contoso', 'atlantis'), 'unknown');
    assert.equal(tree.isSelfOrDescendant('atlantis', 'atlantis'), false);
    assert.equal(tree.isAncestor('atlantis', 'hamburg'), false);
  });

  it('survives cycles and counts every tenant on or below one as unknown', () => {
    for (const id of ['loop-a', 'loop-b', 'below-loop', 'self-parent']) {
      assert.equal(tree.isKnown(id), false, id);
      assert.equal(tree.lineage(id), undefined, id);
    }
    assert.equal(tree.relation('loop-a', 'loop-b'), 'unknown');
    assert.equal(tree.relation('loop-a', 'loop-a'), 'unknown');
    assert.equal(tree.isSelfOrDescendant('below-loop', 'loop-a'), false);
  });

  it('counts a tenant whose parent does not exist as unknown', () => {
    assert.equal(tree.isKnown('orphan'), false);
    assert.equal(tree.relation('orphan', 'orphan'), 'unknown');
  });

  it('counts an id listed twice as unknown, since its place is ambiguous', () => {
    const twice = TenantTree.fromList([
      { id: 'root', name: 'Root' },
      { id: 'other', name: 'Other' },
      { id: 'twin', name: 'Twin', parent: 'root' },
      { id: 'twin', name: 'Twin again', parent: 'other' },
    ]);
    assert.equal(twice.isKnown('twin'), false);
    assert.equal(twice.relation('root', 'twin'), 'unknown');
    assert.equal(twice.relation('root', 'root'), 'self');
  });

  it('reads the catalog through its lookup, so it sees changes', () => {
    const tenants = new Map<string, Tenant>([['a', { id: 'a', name: 'A' }]]);
    const live = new TenantTree((id) => tenants.get(id));
    assert.equal(live.isKnown('b'), false);
    tenants.set('b', { id: 'b', name: 'B', parent: 'a' });
    assert.equal(live.relation('a', 'b'), 'descendant');
  });
});
