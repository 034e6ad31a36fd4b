/**
 * A signing secret and the ones it replaced: after a rotation the previous secret keeps signing
 * beside the new one for a while, so a receiver can switch without refusing anything.
 */

/** After a rotation the previous secret keeps signing this long (CONTRACT §6). */
export const SECRET_ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

/** One secret and when it stops signing (null: it is the current one). */
export interface RotatingSecret {
  secret: string;
  expiresAt: number | null;
}

/** The list after a rotation to `secret`: the new one first, the live old ones expiring after the overlap. */
export function rotated(current: RotatingSecret[], secret: string, now: number): RotatingSecret[] {
  return [{ secret, expiresAt: null }, ...live(current, now).map((s) => ({ secret: s.secret, expiresAt: s.expiresAt ?? now + SECRET_ROTATION_OVERLAP_MS }))];
}

/** The secrets that still sign at `now`, newest first. */
export function live(list: RotatingSecret[], now: number): RotatingSecret[] {
  return list.filter((s) => s.expiresAt === null || s.expiresAt > now);
}
