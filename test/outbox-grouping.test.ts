/**
 * An ended webhook attempt is stored together with the D1 batch that carries its rows (one
 * storage commit instead of two, src/sessions/session-object.ts `drain`). These are the ways that
 * can go wrong: the batch failing while attempts wait for it must release them, once, so the
 * event is neither stuck nor sent twice, and the rows still reach D1.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { SqlQuery } from "../src/sessions/d1-outbox";
import { sessionStub } from "../src/sessions/stub";
import { newSessionId } from "./helpers";
import { insideSession } from "./session-flows";
import { tenantWithSites } from "./support";
import { Receiver, WAIT, attemptsOf, authorizeSession, createEndpoint, interceptWebhooks, sessionEventIds } from "./webhooks-support";

interceptWebhooks();

type Flush = (extra?: { required?: readonly SqlQuery[]; riders?: () => readonly SqlQuery[] }) => Promise<{ ok: boolean; extraSent: boolean }>;

describe("attempts stored with the D1 batch", () => {
  it("a batch that fails while an attempt waits for it releases the attempt: delivered once, recorded, in D1 after the next run", async () => {
    const tenant = await tenantWithSites();
    const receiver = new Receiver(() => new Response(null, { status: 204 }));
    await createEndpoint(tenant.apiKey, { url: receiver.url });
    const id = newSessionId();
    // The first flush that carries an ended attempt fails as a storage error would (not a D1 refusal, which flush handles itself).
    const failures: string[] = [];
    await insideSession(id, (object) => {
      const outbox = (object as unknown as { outbox: { flush: Flush } }).outbox;
      const flush = outbox.flush.bind(outbox);
      vi.spyOn(outbox, "flush").mockImplementation(async (extra) => {
        if (failures.length === 0 && (extra?.required?.length ?? 0) > 0) {
          failures.push("flush");
          throw new Error("storage unavailable");
        }
        return flush(extra);
      });
    });

    await authorizeSession(tenant, tenant.siteIds[0]!, id);
    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(1), WAIT);
    await vi.waitFor(() => expect(failures).toEqual(["flush"]), WAIT);
    // The failed run is over; the safety-net alarm runs the outbox again.
    await vi.waitFor(async () => expect(await insideSession(id, (object) => (object as unknown as { running: unknown }).running)).toBeNull(), WAIT);
    await runDurableObjectAlarm(sessionStub(env, id));

    const [authorized] = await sessionEventIds(tenant.apiKey, id);
    const attempts = await vi.waitFor(async () => {
      const recorded = await attemptsOf(tenant.apiKey, authorized!.id);
      expect(recorded).toHaveLength(1);
      return recorded;
    }, WAIT);
    expect(attempts[0]).toMatchObject({ status: 204 });
    // Released, the attempt moved the endpoint on: the event was not sent again.
    expect(receiver.received).toHaveLength(1);
  });
});
