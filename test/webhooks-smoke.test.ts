import { afterEach, describe, expect, it, vi } from "vitest";
import { Webhook } from "standardwebhooks";
import { transactionNotify } from "./fixtures";
import { onboard, spark, tenantCall } from "./helpers";

afterEach(() => vi.restoreAllMocks());

describe("webhooks", () => {
  it("delivers a signed session.authorized the tenant can verify", async () => {
    const received: Array<{ headers: Record<string, string>; body: string }> = [];
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      if (!request.url.startsWith("https://csms.example/")) return realFetch(input, init);
      received.push({ headers: Object.fromEntries(request.headers), body: await request.text() });
      return new Response(null, { status: 204 });
    });
    const tenant = await onboard({ siteIds: [31], webhookUrl: "https://csms.example/hooks/spark" });
    const id = crypto.randomUUID();
    const res = await spark("TransactionNotify", transactionNotify({ SiteId: 31, SparkTransactionId: id }), tenant.sparkCallbackSecret);
    expect(res.status).toBe(200);
    await vi.waitFor(() => expect(received).toHaveLength(1), { timeout: 5000 });
    const event = new Webhook(tenant.webhookEndpoint!.secret).verify(received[0]!.body, received[0]!.headers) as {
      type: string;
      data: { sequence: number; session: { id: string; status: string } };
    };
    expect(event.type).toBe("session.authorized");
    expect(event.data.sequence).toBe(1);
    expect(event.data.session).toMatchObject({ id, status: "authorized" });

    await vi.waitFor(async () => {
      const attempts = (await (await tenantCall(tenant.apiKey, `/v1/events/${received[0]!.headers["webhook-id"]}/attempts`)).json()) as { data: Array<{ status: number }> };
      expect(attempts.data.map((a) => a.status)).toEqual([204]);
    });
  });
});
