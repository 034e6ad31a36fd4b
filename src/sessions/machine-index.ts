/**
 * The stop index: the sessions authorized at a tenant's machines, kept current by the session
 * objects themselves in the same flow as their own state, in one object per tenant. A stop card
 * presented a millisecond after its authorization, or while D1 is slow or down, is matched here,
 * never in the D1 projection (CONTRACT §8, "Stop by card sees every authorization").
 */
import { DurableObject } from "cloudflare:workers";
import { timingSafeEqualText } from "../lib/crypto";

/** What the index knows of one session. */
export interface IndexEntry {
  sessionId: string;
  machineId: number;
  nayaxTransactionId: number | null;
  /** Lower-case card hash. */
  cardHash: string | null;
  serviceStationNumber: string | null;
  /** Authorized or stop requested: a stop card can still match it. */
  open: boolean;
  /** Unix ms of the authorization; newest first when several open sessions share a card. */
  authorizedAt: number;
  /** The session's last event sequence when this entry was made: an older entry never replaces a newer one. */
  version: number;
}

/**
 * Ended sessions stay findable by NayaxTransactionId this long (so a late stop gets "already
 * ended" rather than "no session"); older ones are found in D1.
 */
export const KEEP_ENDED_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Index objects per tenant (its machines spread over them by MachineId). One: against 16, side by
 * side, the callbacks' p99 was lower in every round (README, Performance), and one object takes
 * hundreds of writes a second, far above a tenant's callback rate; one object per machine would
 * be woken cold for nearly every authorization.
 */
export const INDEX_SHARDS = 1;

/**
 * Index objects per tenant before it became one (2026-11-30). Their entries are still read when
 * the current index has no answer, and retention forgets sessions there too, for as long as a
 * session authorized before then can be stopped or purged.
 */
export const EARLIER_INDEX_SHARDS = 16;

const SCHEMA = `CREATE TABLE IF NOT EXISTS entries (
  session_id TEXT PRIMARY KEY,
  machine_id INTEGER NOT NULL,
  nayax_transaction_id INTEGER,
  card_hash TEXT,
  service_station_number TEXT,
  open INTEGER NOT NULL,
  authorized_at INTEGER NOT NULL,
  version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_nayax ON entries (machine_id, nayax_transaction_id);
CREATE INDEX IF NOT EXISTS entries_open ON entries (machine_id, open, authorized_at);
CREATE INDEX IF NOT EXISTS entries_ended ON entries (updated_at) WHERE open = 0`;

/** Removes ended entries past {@link KEEP_ENDED_MS}: through \`entries_ended\`, so it reads only those, never the whole index. */
export const SWEEP_ENDED = "DELETE FROM entries WHERE open = 0 AND updated_at < ?";

export class MachineIndex extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(SCHEMA);
  }

  /** Records where a session stands; a stale entry (lower version) changes nothing. */
  put(entry: IndexEntry): void {
    const now = Date.now();
    this.ctx.storage.sql.exec(
      `INSERT INTO entries (session_id, machine_id, nayax_transaction_id, card_hash, service_station_number, open, authorized_at, version, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (session_id) DO UPDATE SET machine_id = excluded.machine_id, nayax_transaction_id = excluded.nayax_transaction_id, card_hash = excluded.card_hash,
         service_station_number = excluded.service_station_number, open = excluded.open, authorized_at = excluded.authorized_at,
         version = excluded.version, updated_at = excluded.updated_at
       WHERE entries.version <= excluded.version`,
      entry.sessionId,
      entry.machineId,
      entry.nayaxTransactionId,
      entry.cardHash,
      entry.serviceStationNumber,
      entry.open ? 1 : 0,
      entry.authorizedAt,
      entry.version,
      now,
    );
    if (!entry.open) this.ctx.storage.sql.exec(SWEEP_ENDED, now - KEEP_ENDED_MS);
  }

  /** The session authorized with this NayaxTransactionId at this machine, open or not. */
  byNayaxId(machineId: number, nayaxTransactionId: number): string | null {
    const row = this.ctx.storage.sql
      .exec<{ session_id: string }>(
        "SELECT session_id FROM entries WHERE machine_id = ? AND nayax_transaction_id = ? ORDER BY authorized_at DESC LIMIT 1",
        machineId,
        nayaxTransactionId,
      )
      .toArray()[0];
    return row?.session_id ?? null;
  }

  /** The newest open session of this card (on this station, when given). */
  openByCard(machineId: number, cardHash: string, serviceStationNumber: string | null): string | null {
    const wanted = cardHash.toLowerCase();
    const rows = this.ctx.storage.sql
      .exec<{ session_id: string; card_hash: string | null; service_station_number: string | null }>(
        "SELECT session_id, card_hash, service_station_number FROM entries WHERE machine_id = ? AND open = 1 ORDER BY authorized_at DESC",
        machineId,
      )
      .toArray();
    const match = rows.find(
      (row) => row.card_hash !== null && timingSafeEqualText(row.card_hash, wanted) && (serviceStationNumber === null || row.service_station_number === serviceStationNumber),
    );
    return match?.session_id ?? null;
  }

  /** Whether the index holds anything of this session, open or not. */
  has(sessionId: string): boolean {
    return this.ctx.storage.sql.exec("SELECT 1 FROM entries WHERE session_id = ?", sessionId).toArray().length > 0;
  }

  /** Forgets a session (retention). */
  forget(sessionId: string): void {
    this.ctx.storage.sql.exec("DELETE FROM entries WHERE session_id = ?", sessionId);
  }
}

/** What a stop names: NayaxTransactionId when Spark sent one, else the card (and station). */
export interface StopQuery {
  machineId: number;
  nayaxTransactionId: number | null;
  cardHash: string;
  serviceStationNumber: string | null;
}

const indexName = (tenantId: string, machineId: number, shards: number) => `${tenantId}#${((machineId % shards) + shards) % shards}`;

function indexObject(env: Env, name: string): DurableObjectStub<MachineIndex> {
  const ns = env.MACHINES as unknown as DurableObjectNamespace<MachineIndex>;
  return ns.get(ns.idFromName(name));
}

/** The index object that holds one tenant's machine. */
export function machineIndex(env: Env, tenantId: string, machineId: number): DurableObjectStub<MachineIndex> {
  return indexObject(env, indexName(tenantId, machineId, INDEX_SHARDS));
}

/** The object that held the machine's entries before the index became one object; null when it is that same object. */
export function earlierMachineIndex(env: Env, tenantId: string, machineId: number): DurableObjectStub<MachineIndex> | null {
  const earlier = indexName(tenantId, machineId, EARLIER_INDEX_SHARDS);
  return earlier === indexName(tenantId, machineId, INDEX_SHARDS) ? null : indexObject(env, earlier);
}

/**
 * The session a stop names at its machine: by NayaxTransactionId, open or not, else the newest
 * open session of the card. An entry found only in the earlier index object counts unless the
 * current one holds that session: then the current one is newer, and had no match.
 */
export async function findInIndex(env: Env, tenantId: string, stop: StopQuery): Promise<string | null> {
  const ask = (index: DurableObjectStub<MachineIndex>) =>
    stop.nayaxTransactionId !== null ? index.byNayaxId(stop.machineId, stop.nayaxTransactionId) : index.openByCard(stop.machineId, stop.cardHash, stop.serviceStationNumber);
  const index = machineIndex(env, tenantId, stop.machineId);
  const found = await ask(index);
  if (found) return found;
  const earlier = earlierMachineIndex(env, tenantId, stop.machineId);
  const older = earlier ? await ask(earlier) : null;
  return older && !(await index.has(older)) ? older : null;
}

/** Forgets a session wherever the index may hold it (retention). */
export async function forgetInIndex(env: Env, tenantId: string, machineId: number, sessionId: string): Promise<void> {
  await machineIndex(env, tenantId, machineId).forget(sessionId);
  await earlierMachineIndex(env, tenantId, machineId)?.forget(sessionId);
}
