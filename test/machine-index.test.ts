/**
 * The stop index object: an older entry never replaces a newer one, and ended entries past
 * KEEP_ENDED_MS are swept without reading the open ones.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { KEEP_ENDED_MS, SWEEP_ENDED, machineIndex } from "../src/sessions/machine-index";
import type { IndexEntry, MachineIndex } from "../src/sessions/machine-index";

let tenantSeq = 0;
const index = () => machineIndex(env, `t_index_${++tenantSeq}`, 71_500_000);

const entry = (n: number, over: Partial<IndexEntry> = {}): IndexEntry => ({
  sessionId: `s-${n}`,
  machineId: 71_500_000,
  nayaxTransactionId: 8_000_000_000 + n,
  cardHash: `hash-${n}`,
  serviceStationNumber: "1",
  open: true,
  authorizedAt: 1_000 + n,
  version: 1,
  ...over,
});

describe("MachineIndex", () => {
  it("keeps the newer entry of a session when an older one arrives after it", async () => {
    const stub = index();
    await stub.put(entry(1, { version: 3, open: false }));
    await stub.put(entry(1, { version: 2, open: true }));
    expect(await stub.openByCard(71_500_000, "hash-1", null)).toBeNull();
    expect(await stub.byNayaxId(71_500_000, 8_000_000_001)).toBe("s-1");
  });

  it("sweeps ended entries older than KEEP_ENDED_MS through their own index, keeping open and recent ones", async () => {
    const stub = index();
    const now = Date.now();
    await runInDurableObject(stub, async (instance: MachineIndex, state) => {
      await instance.put(entry(1, { open: false }));
      await instance.put(entry(2, { open: true }));
      await instance.put(entry(3, { open: false }));
      // Entries 1 and 2 were written long ago; 3 is recent.
      state.storage.sql.exec("UPDATE entries SET updated_at = ? WHERE session_id IN ('s-1', 's-2')", now - KEEP_ENDED_MS - 60_000);
      await instance.put(entry(4, { open: false }));
      expect(instance.has("s-1")).toBe(false);
      expect(instance.has("s-2")).toBe(true);
      expect(instance.has("s-3")).toBe(true);
      expect(instance.has("s-4")).toBe(true);
      // The sweep runs whenever a session ends: it must not read every entry of the tenant.
      const plan = state.storage.sql
        .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${SWEEP_ENDED}`, now)
        .toArray()
        .map((row) => row.detail);
      expect(plan.join("\n")).toContain("entries_ended");
      expect(plan.join("\n")).not.toMatch(/SCAN entries\b(?! USING)/);
    });
  });
});
