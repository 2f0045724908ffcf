import { type RecentIds, recentIds } from "./recent-ids.js";

/**
 * Which rows this relay may still publish, whichever way they come (hand-off or read): a
 * row is published once by this process. A read can see a row committed before its
 * writer's hand-off reaches the relay, and a hand-off can arrive after a read published and
 * marked its rows; without this, both would publish it (JetStream would store it once, same
 * Nats-Msg-Id, but a core subscriber on the subject would get it twice).
 */
export class Claims {
  /** Ids being published, or published and not marked yet. */
  private readonly claimed = new Set<string>();
  /** Ids published in the last 10-20 s, marked or not. */
  private readonly recent: RecentIds;
  /** Ids published and not marked yet, oldest first. */
  private unmarked: string[] = [];

  constructor(rememberMs = 10_000, now?: () => number) {
    this.recent = recentIds(rememberMs, now);
  }

  /** Neither being published nor published lately. */
  isFresh(id: string): boolean {
    return !this.claimed.has(id) && !this.recent.has(id);
  }

  claim(id: string): void {
    this.claimed.add(id);
    this.recent.add(id);
  }

  /** Its publish failed: it may be published again. */
  unclaim(id: string): void {
    this.claimed.delete(id);
    this.recent.delete(id);
  }

  /** Ids a read must pass over. */
  claimedIds(): string[] {
    return [...this.claimed];
  }

  /** Published: to be marked by the next statement that marks. */
  published(ids: readonly string[]): void {
    this.unmarked.push(...ids);
  }

  hasUnmarked(): boolean {
    return this.unmarked.length > 0;
  }

  /** The ids to mark now; `marked` or `notMarked` must follow with them. */
  takeUnmarked(): string[] {
    const ids = this.unmarked;
    this.unmarked = [];
    return ids;
  }

  /** Their marking failed: marked by the next statement, not published again. */
  notMarked(ids: readonly string[]): void {
    this.unmarked = [...ids, ...this.unmarked];
  }

  /** Their marking committed: a read no longer sees them pending. */
  marked(ids: readonly string[]): void {
    for (const id of ids) this.claimed.delete(id);
  }
}
