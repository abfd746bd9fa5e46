import { describe, expect, it } from 'vitest';
import { matchInterruptedCreates, type InterruptedCreate, type OrphanCandidate } from './recovery';

const create = (tag: string, overrides: Partial<InterruptedCreate> = {}): InterruptedCreate => ({ tag, nodeId: 'b', entityId: `e-${tag}`, hash: `h-${tag}`, matchKey: null, ...overrides });
const candidate = (recordId: string, overrides: Partial<OrphanCandidate> = {}): OrphanCandidate => ({ nodeId: 'b', recordId, tag: null, contentHash: `c-${recordId}`, matchKey: null, ...overrides });
const ids = (matched: Map<string, OrphanCandidate>) => Object.fromEntries([...matched].map(([tag, found]) => [tag, found.recordId]));

describe('matchInterruptedCreates', () => {
  it('finds a record by the tag it carries, on the create’s side only', () => {
    const matched = matchInterruptedCreates([create('t1')], [candidate('x', { nodeId: 'a', tag: 't1' }), candidate('y', { tag: 't1' })]);
    expect(ids(matched)).toEqual({ t1: 'y' });
  });

  it('finds a record by what was written where the side stores no tag, checking the match values too', () => {
    const creates = [create('t1', { hash: 'same', matchKey: 'k1' }), create('t2', { hash: 'other' })];
    const found = matchInterruptedCreates(creates, [candidate('x', { contentHash: 'same', matchKey: 'k2' }), candidate('y', { contentHash: 'same', matchKey: 'k1' }), candidate('z', { contentHash: 'other' })]);
    expect(ids(found)).toEqual({ t1: 'y', t2: 'z' });
  });

  it('falls back to the only record with the entity’s match values (edited since the crash)', () => {
    expect(ids(matchInterruptedCreates([create('t1', { matchKey: 'k' })], [candidate('x', { matchKey: 'k' })]))).toEqual({ t1: 'x' });
  });

  it('guesses nothing: two records with the same evidence, or one record fitting two creates, match nothing', () => {
    expect(matchInterruptedCreates([create('t1', { matchKey: 'k' })], [candidate('x', { matchKey: 'k' }), candidate('y', { matchKey: 'k' })]).size).toBe(0);
    const twins = [create('t1', { hash: 'same' }), create('t2', { hash: 'same' })];
    expect(matchInterruptedCreates(twins, [candidate('x', { contentHash: 'same' })]).size).toBe(0);
  });

  it('lets stronger evidence claim a record before weaker evidence is weighed', () => {
    // x carries t1's tag and shares t2's match values: it is t1's; t2 made nothing.
    const creates = [create('t2', { matchKey: 'k' }), create('t1', { matchKey: 'k' })];
    expect(ids(matchInterruptedCreates(creates, [candidate('x', { tag: 't1', matchKey: 'k' })]))).toEqual({ t1: 'x' });
  });

  it('matches nothing when the create made nothing', () => {
    expect(matchInterruptedCreates([create('t1', { matchKey: 'k' })], [candidate('x', { matchKey: 'other' })]).size).toBe(0);
  });
});
