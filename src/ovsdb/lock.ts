// Named locks (RFC 7047 section 4.1.8-4.1.10): one owner per name and a FIFO of waiting sessions;
// "steal" takes the lock from its owner, who then stops waiting for it.

export class LockTable<S> {
  private readonly queues = new Map<string, S[]>();

  owns(name: string, s: S): boolean {
    return this.queues.get(name)?.[0] === s;
  }

  /** Joins the queue for `name`; true if `s` owns the lock now. */
  lock(name: string, s: S): boolean {
    let q = this.queues.get(name);
    if (!q) this.queues.set(name, (q = []));
    q.push(s);
    return q[0] === s;
  }

  /** Makes `s` the owner; returns the previous owner, whom the lock was taken from. */
  steal(name: string, s: S): S | undefined {
    const q = (this.queues.get(name) ?? []).filter((x) => x !== s);
    const victim = q[0];
    this.queues.set(name, [s, ...q.slice(1)]);
    return victim;
  }

  /** Leaves the queue for `name`; returns the session that now owns it, if ownership moved. */
  unlock(name: string, s: S): S | undefined {
    const q = this.queues.get(name);
    if (!q) return undefined;
    const wasOwner = q[0] === s;
    const rest = q.filter((x) => x !== s);
    if (rest.length === 0) this.queues.delete(name);
    else this.queues.set(name, rest);
    return wasOwner ? rest[0] : undefined;
  }
}
