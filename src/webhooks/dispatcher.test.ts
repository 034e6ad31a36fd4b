import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../db/client";
import { sealerFor } from "../lib/crypto";
import { sessionStub } from "../sessions/stub";
import { Dispatcher } from "./dispatcher";

describe("Dispatcher's gate", () => {
  it("ending it releases the outbox rounds still waiting for an attempt to end", async () => {
    await runInDurableObject(sessionStub(env, `gate-${crypto.randomUUID()}`), async (_, state) => {
      const dispatcher = new Dispatcher(state.storage.sql, database(env.DB), sealerFor(env.ENCRYPTION_KEY), [], () => {}, true);
      dispatcher.gate(true);
      // A round of the outbox run that lost its race: it waits for an attempt that never comes.
      const waiting = dispatcher.attemptEnded().then(() => "released");
      dispatcher.gate(false);
      const after = await Promise.race([waiting, new Promise((r) => setTimeout(() => r("still waiting"), 100))]);
      expect(after).toBe("released");
    });
  });
});
