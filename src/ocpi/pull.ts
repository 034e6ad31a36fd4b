/**
 * Pulling the CPO's Locations and Tariffs (CONTRACT §7.2 Pulls, §7.3 `lastSync`): `offset=0`,
 * then each `Link: <…>; rel="next"` exactly as given until a page has none; `X-Total-Count` and
 * `X-Limit` are ignored. Objects are kept as if pushed (ordered by `last_updated`); one that is
 * refused is skipped, and anything that stops the pull early is recorded as its `error`.
 */
import { and, eq } from "drizzle-orm";
import { database } from "../db/client";
import { ocpiConnections } from "../db/schema";
import { sealerFor } from "../lib/crypto";
import { log } from "../lib/log";
import { callOcpi, describeResult, isSuccess, nextLink } from "./client";
import { codecFor } from "./codecs";
import { publicBaseUrl } from "./config";
import { endpointOf, firstCpoParty, getConnection, isDeclared } from "./connection";
import type { Connection, LastSync, SyncOutcome } from "./connection";
import { emspIdentity } from "./identity";
import { isJsonObject } from "./json";
import type { Party } from "./model";
import { putLocation, putTariff } from "./receivers";
import type { ReceiverContext } from "./receivers";
import { encodingFor } from "./token";

/** A guard against a CPO whose links never end: far more pages than any real network has. */
export const MAX_PULL_PAGES = 10_000;

type Module = "locations" | "tariffs";

function firstPageUrl(endpoint: string): string {
  const url = new URL(endpoint);
  url.searchParams.set("offset", "0");
  return url.toString();
}

/** The owner of a pulled object: its own on 2.2.1, the CPO's on 2.1.1. */
function ownerOf(context: ReceiverContext, item: Record<string, unknown>): Party | null {
  if (!context.codec.ownerInBody) return firstCpoParty(context.connection);
  if (typeof item.country_code !== "string" || typeof item.party_id !== "string") return null;
  return { countryCode: item.country_code, partyId: item.party_id };
}

async function pullModule(context: ReceiverContext, module: Module, token: string): Promise<SyncOutcome | null> {
  const { connection } = context;
  const endpoint = endpointOf(connection, module, "SENDER");
  if (!endpoint || !URL.canParse(endpoint.url)) return null;
  const identity = emspIdentity(context.env);
  let url: string | null = firstPageUrl(endpoint.url);
  const seen = new Set<string>();
  let count = 0;
  let pages = 0;
  let error: string | null = null;
  while (url !== null) {
    if (seen.has(url) || pages >= MAX_PULL_PAGES) {
      error = `page ${pages + 1}: the next link leads back to a page already read`;
      break;
    }
    seen.add(url);
    const result = await callOcpi({
      method: "GET",
      url,
      token,
      encoding: encodingFor(connection.version!, connection.tokenEncoding),
      version: connection.version,
      target: "functional",
      from: { countryCode: identity.countryCode, partyId: identity.partyId },
      to: firstCpoParty(connection),
    });
    if (!isSuccess(result)) {
      error = `page ${pages + 1}: ${describeResult(result)}`;
      break;
    }
    const items = result.envelope.data;
    if (!Array.isArray(items)) {
      error = `page ${pages + 1}: data is not a list`;
      break;
    }
    // Nothing of a connection that ended (or was registered anew) meanwhile is kept.
    const now = await getConnection(context.db, context.tenantId);
    if (now.status !== "connected" || now.registeredAt !== connection.registeredAt) {
      error = `page ${pages + 1}: the connection ended during the pull`;
      break;
    }
    pages += 1;
    for (const item of items) {
      count += 1;
      if (!isJsonObject(item) || typeof item.id !== "string") continue;
      const owner = ownerOf(context, item);
      if (!owner || !isDeclared(connection, owner)) continue;
      try {
        await (module === "locations" ? putLocation(context, owner, item.id, item) : putTariff(context, owner, item.id, item));
      } catch {
        // A refused object is skipped, as a pushed one would be refused.
      }
    }
    url = nextLink(result.headers.get("Link"), url);
  }
  return { at: new Date().toISOString(), count, pages, error };
}

/**
 * Pulls the CPO's Locations and Tariffs for a connected tenant and records `lastSync`. A module
 * the CPO does not offer as a sender keeps a null outcome. Never throws.
 */
export async function syncFromCpo(env: Env, tenantId: string): Promise<void> {
  const db = database(env.DB);
  try {
    const connection: Connection = await getConnection(db, tenantId);
    if (connection.status !== "connected" || !connection.version || !connection.sealedCpoToken) return;
    const token = await sealerFor(env.ENCRYPTION_KEY).open(connection.sealedCpoToken);
    const context: ReceiverContext = {
      db,
      env,
      tenantId,
      connection,
      version: connection.version,
      codec: codecFor(connection.version),
      correlationId: crypto.randomUUID(),
      baseUrl: publicBaseUrl(env),
    };
    const lastSync: LastSync = { ...connection.lastSync };
    for (const module of ["locations", "tariffs"] as const) {
      const outcome = await pullModule(context, module, token);
      if (outcome === null) continue;
      lastSync[module] = outcome;
      // Only into the registration that started the pull: an unregistered or re-registered connection keeps its own.
      await db
        .update(ocpiConnections)
        .set({ lastSync: JSON.stringify(lastSync) })
        .where(and(eq(ocpiConnections.tenantId, tenantId), eq(ocpiConnections.status, "connected"), eq(ocpiConnections.registeredAt, connection.registeredAt ?? -1)));
    }
  } catch (error) {
    log.error("ocpi pull failed", { tenantId, error: String(error) });
  }
}
