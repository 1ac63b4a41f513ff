/**
 * The datapath flows a slow path installed, by flow id. An id is the
 * datapath's slot in its low 32 bits and the slot's generation above; slots
 * are dense and reused, so the table is an array indexed by slot, and an
 * entry answers only to the full id it was installed under. (A Map keyed by
 * bigint ids cost more than any other step of setting up a flow.)
 */
export class InstalledFlows<F extends { readonly id: bigint }> {
  private readonly bySlot: (F | undefined)[] = [];
  /**
   * Entries a newer flow pushed out of their slot before their removal was
   * reported: the datapath expired them and reused the slot while the
   * expiry event, which carries their final counters, was still on its way.
   */
  private readonly displaced = new Map<bigint, F>();

  get(id: bigint): F | undefined {
    const f = this.bySlot[slotOf(id)];
    if (f?.id === id) return f;
    return this.displaced.size ? this.displaced.get(id) : undefined;
  }

  add(flow: F): void {
    const slot = slotOf(flow.id);
    // Grow one at a time so the array stays dense (a gap would make it a dictionary).
    while (this.bySlot.length < slot) this.bySlot.push(undefined);
    const old = this.bySlot[slot];
    if (old && old.id !== flow.id) this.displaced.set(old.id, old);
    this.bySlot[slot] = flow;
  }

  delete(id: bigint): boolean {
    const slot = slotOf(id);
    if (this.bySlot[slot]?.id !== id) return this.displaced.delete(id);
    this.bySlot[slot] = undefined;
    return true;
  }

  clear(): void {
    this.bySlot.length = 0;
    this.displaced.clear();
  }

  *[Symbol.iterator](): IterableIterator<F> {
    for (const f of this.bySlot) if (f) yield f;
    yield* this.displaced.values();
  }
}

function slotOf(id: bigint): number {
  return Number(BigInt.asUintN(32, id));
}
