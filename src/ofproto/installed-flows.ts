/**
 * The datapath flows a slow path installed, by flow id. An id is the
 * datapath's slot in its low 32 bits and the slot's generation above; slots
 * are dense and reused, so the table is an array indexed by slot, and an
 * entry answers only to the full id it was installed under. (A Map keyed by
 * bigint ids cost more than any other step of setting up a flow.)
 */
export class InstalledFlows<F extends { readonly id: bigint }> {
  private readonly bySlot: (F | undefined)[] = [];

  get(id: bigint): F | undefined {
    const f = this.bySlot[slotOf(id)];
    return f?.id === id ? f : undefined;
  }

  /** Adds `flow`; one installed earlier in its slot is gone from the datapath, so it goes too. */
  add(flow: F): void {
    const slot = slotOf(flow.id);
    // Grow one at a time so the array stays dense (a gap would make it a dictionary).
    while (this.bySlot.length < slot) this.bySlot.push(undefined);
    this.bySlot[slot] = flow;
  }

  delete(id: bigint): boolean {
    const slot = slotOf(id);
    if (this.bySlot[slot]?.id !== id) return false;
    this.bySlot[slot] = undefined;
    return true;
  }

  clear(): void {
    this.bySlot.length = 0;
  }

  *[Symbol.iterator](): IterableIterator<F> {
    for (const f of this.bySlot) if (f) yield f;
  }
}

function slotOf(id: bigint): number {
  return Number(BigInt.asUintN(32, id));
}
