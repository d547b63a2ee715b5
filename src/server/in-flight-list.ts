// The HTTP requests in flight, for graceful shutdown: a list threaded through the requests
// themselves. Every request joins and leaves it, so joining and leaving allocate nothing and
// touch no hash table (a Set of them costs a request about as much as its scope does).

/** A member: the list's links live on it. */
export interface InFlightMember {
  prevInFlight: InFlightMember | null;
  nextInFlight: InFlightMember | null;
}

export class InFlightList<T extends InFlightMember> {
  #head: T | null = null;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(m: T): void {
    m.prevInFlight = null;
    m.nextInFlight = this.#head;
    if (this.#head !== null) this.#head.prevInFlight = m;
    this.#head = m;
    this.#size++;
  }

  /** Removes a member; one that is not in the list (never added, or removed) is left alone. */
  delete(m: T): void {
    const prev = m.prevInFlight as T | null;
    const next = m.nextInFlight as T | null;
    if (prev === null && this.#head !== m) return;
    if (prev !== null) prev.nextInFlight = next;
    else this.#head = next;
    if (next !== null) next.prevInFlight = prev;
    m.prevInFlight = null;
    m.nextInFlight = null;
    this.#size--;
  }

  /** The members now, newest first: a copy, so members may leave while it is walked. */
  toArray(): T[] {
    const out: T[] = [];
    for (let m = this.#head; m !== null; m = m.nextInFlight as T | null) out.push(m);
    return out;
  }
}
