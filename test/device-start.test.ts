import { describe, expect, it } from "vitest";
import { SEED_CARD_HASH, SEED_SESSION_ID, transactionNotify, transactionNotifyAnswer, transactionNotifyText } from "./fixtures";
import { flush, onboard, spark, tenantCall } from "./helpers";

describe("Device Start: TransactionNotify", () => {
  it("authorizes the seed session and shows it to the tenant", async () => {
    const tenant = await onboard();
    const res = await spark("TransactionNotify", transactionNotifyText, tenant.sparkCallbackSecret);
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Request-Id")).toBeTruthy();
    expect(await res.json()).toEqual(transactionNotifyAnswer);

    const read = await tenantCall(tenant.apiKey, `/v1/sessions/${SEED_SESSION_ID}`);
    expect(read.status).toBe(200);
    const session = (await read.json()) as Record<string, unknown> & { events: Array<{ type: string; data: { sequence: number } }> };
    expect(session).toMatchObject({
      id: SEED_SESSION_ID,
      flow: "device_start",
      status: "authorized",
      nayaxTransactionId: 2004545072,
      siteId: 2,
      machineId: 71234996,
      hwSerial: "0434334921100366",
      serviceStationNumber: "5",
      authorizedAmount: "10.00",
      settledAmount: null,
      currency: null,
      card: { last4: "1234", hash: SEED_CARD_HASH, uid: "1288528281124927" },
      deviceTime: "2024-02-05T19:41:22.328",
    });
    expect(session.events.map((e) => [e.type, e.data.sequence])).toEqual([["session.authorized", 1]]);

    await flush(SEED_SESSION_ID);
    const list = await tenantCall(tenant.apiKey, "/v1/sessions?status=authorized");
    const page = (await list.json()) as { data: Array<{ id: string }>; nextCursor: string | null };
    expect(page.data.map((s) => s.id)).toContain(SEED_SESSION_ID);
  });

  it("declines on a station the tenant marked busy", async () => {
    const tenant = await onboard({ siteIds: [20] });
    const put = await tenantCall(tenant.apiKey, "/v1/stations/71234996/5", { method: "PUT", json: { availability: "busy" } });
    expect(put.status).toBe(200);
    const id = crypto.randomUUID();
    const res = await spark("TransactionNotify", transactionNotify({ SiteId: 20, SparkTransactionId: id }), tenant.sparkCallbackSecret);
    const body = (await res.json()) as { Status: { Verdict: string; StatusMessage: string } };
    expect(res.status).toBe(200);
    expect(body.Status.Verdict).toBe("Declined");
    const session = (await (await tenantCall(tenant.apiKey, `/v1/sessions/${id}`)).json()) as { status: string; events: Array<{ type: string }> };
    expect(session.status).toBe("declined");
    expect(session.events.map((e) => e.type)).toEqual(["session.declined"]);
  });
});
