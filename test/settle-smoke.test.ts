import { afterEach, describe, expect, it, vi } from "vitest";
import { transactionNotify } from "../sim/drive";
import { tenantCall } from "./helpers";
import { installSimulator } from "./spark-harness";

afterEach(() => vi.restoreAllMocks());

describe("settlement", () => {
  it("settles a Device Start session through Spark with the exact amount", async () => {
    const { simulator, tenant } = installSimulator();
    const t = await tenant({ siteIds: [61] });
    const id = crypto.randomUUID();
    const notify = await t.driver.send("TransactionNotify", transactionNotify({ SiteId: 61, SparkTransactionId: id, NayaxTransactionId: 61001 }));
    expect(notify.status).toBe(200);
    const res = await tenantCall(t.apiKey, `/v1/sessions/${id}/settle`, { method: "POST", json: { amount: "0.30", receipt: { General: [{ Station: "B12" }] } } });
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ status: "settled", settledAmount: "0.30", currency: "EUR" });
    const sent = simulator.requests.filter((r) => r.path.endsWith("/Settlement"));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.bodyText).toContain('"Amount":0.3,');
    expect(sent[0]!.bodyText).toContain('"EReceiptData":"{\\"General\\":[{\\"Station\\":\\"B12\\"}]}"');

    const again = await tenantCall(t.apiKey, `/v1/sessions/${id}/settle`, { method: "POST", json: { amount: "0.3" } });
    expect(again.status).toBe(200);
    expect(simulator.requests.filter((r) => r.path.endsWith("/Settlement"))).toHaveLength(1);
    const other = await tenantCall(t.apiKey, `/v1/sessions/${id}/settle`, { method: "POST", json: { amount: "0.40" } });
    expect(other.status).toBe(409);
  });

  it("runs a Remote Start to awaiting_card, then authorizes it from TransactionCallback", async () => {
    const { simulator, tenant } = installSimulator();
    const t = await tenant({ siteIds: [62] });
    const res = await tenantCall(t.apiKey, "/v1/sessions", { method: "POST", json: { terminal: { hwSerial: "0434334921100366" }, amount: "15.00", timeoutSeconds: 60, display: "Hello" } });
    const session = (await res.json()) as { id: string; status: string };
    expect(res.status, JSON.stringify(session)).toBe(201);
    expect(session.status).toBe("awaiting_card");
    expect(simulator.requests.map((r) => r.path.split("/").pop())).toEqual(["StartAuthentication", "TriggerTransaction"]);
    const { transactionCallback } = await import("../sim/drive");
    const cb = await t.driver.send("TransactionCallback", transactionCallback({ SparkTransactionId: session.id, SiteId: 62, NayaxTransactionId: 62001, Amount: 1500 }));
    expect(cb.status, cb.text).toBe(200);
    const read = (await (await tenantCall(t.apiKey, `/v1/sessions/${session.id}`)).json()) as { status: string; authorizedAmount: string; events: Array<{ type: string }> };
    expect(read.status).toBe("authorized");
    expect(read.authorizedAmount).toBe("15.00");
    expect(read.events.map((e) => e.type)).toEqual(["session.created", "session.authorized"]);
  });
});
