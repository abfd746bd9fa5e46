/**
 * Crash recovery for creates (SPEC §5, §6). A pass journals every intended write before it makes it and commits the
 * links after. A process that dies in between leaves, for each create, a pending journal entry and perhaps a record
 * on the side that nothing links to. Creating again would duplicate it; so before a pass plans any write, each such
 * record is found among the changes the pass staged (the dead pass never saved its cursors, so every side lists
 * them again) and adopted by the entity it was made for.
 */

/** A create journaled by a pass that never committed it. */
export interface InterruptedCreate {
  tag: string;
  nodeId: string;
  entityId: string;
  /** The journal's hash of what was to be written (`writtenContentHash`). */
  hash: string;
  /** The entity's match values, when the conflict node matches on fields. */
  matchKey: string | null;
}

/** A staged record that no link claims: what might be the record an interrupted create made. */
export interface OrphanCandidate {
  nodeId: string;
  recordId: string;
  tag: string | null;
  /** `writtenContentHash` of the record's fields as read. */
  contentHash: string;
  matchKey: string | null;
}

/**
 * Which record each interrupted create made, by journal tag. The evidence, strongest first, each round claiming
 * records before the next looks: the record carries the create's tag (sides that store tags); it holds exactly what
 * was written, with the entity's match values where it has some (the write itself is the marker on sides that store
 * nothing of ours); it alone on its side has the entity's match values. A create with more than one candidate at
 * its strongest evidence is left unmatched rather than guessed: linking by match values reports that ambiguity.
 */
export function matchInterruptedCreates(creates: readonly InterruptedCreate[], candidates: readonly OrphanCandidate[]): Map<string, OrphanCandidate> {
  const matched = new Map<string, OrphanCandidate>();
  const claimed = new Set<OrphanCandidate>();
  const open = () => creates.filter((create) => !matched.has(create.tag));
  const rounds: Array<(create: InterruptedCreate, candidate: OrphanCandidate) => boolean> = [
    (create, candidate) => candidate.tag === create.tag,
    (create, candidate) => candidate.tag === null && candidate.contentHash === create.hash && (create.matchKey === null || candidate.matchKey === create.matchKey),
    (create, candidate) => candidate.tag === null && create.matchKey !== null && candidate.matchKey === create.matchKey,
  ];
  for (const fits of rounds) {
    const found = new Map<InterruptedCreate, OrphanCandidate[]>();
    for (const create of open()) {
      found.set(
        create,
        candidates.filter((candidate) => candidate.nodeId === create.nodeId && !claimed.has(candidate) && fits(create, candidate)),
      );
    }
    // A record that fits two creates is the evidence of neither.
    const fitsMany = new Set<OrphanCandidate>();
    const seen = new Set<OrphanCandidate>();
    for (const list of found.values()) for (const candidate of list) (seen.has(candidate) ? fitsMany : seen).add(candidate);
    for (const [create, list] of found) {
      const only = list.length === 1 ? (list[0] as OrphanCandidate) : null;
      if (!only || fitsMany.has(only)) continue;
      matched.set(create.tag, only);
      claimed.add(only);
    }
  }
  return matched;
}
