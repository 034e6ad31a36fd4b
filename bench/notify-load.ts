/**
 * A short load of TransactionNotify on new sessions against a running gateway (`npm start`):
 * onboards a throwaway tenant on a random SiteId, then sends N callbacks, each for a new session,
 * C at a time, and prints requests/s and latency percentiles.
 *
 *   GATEWAY_URL=http://127.0.0.1:8787 N=2000 C=16 npx tsx bench/notify-load.ts
 */
import { load } from "./stats";

const gateway = process.env.GATEWAY_URL ?? "http://127.0.0.1:8787";
const adminToken = process.env.ADMIN_TOKEN ?? "dev-admin-token";
/** Bounded so a run creates well under the ~10,000 new Durable Objects a minute local dev can hold. */
const total = Math.min(Number(process.env.N ?? 2000), 8000);
const concurrency = Number(process.env.C ?? 16);

async function main(): Promise<void> {
  const siteId = 20_000 + Math.floor(Math.random() * 10_000);
  const created = await fetch(`${gateway}/admin/tenants`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      name: `load ${siteId}`,
      siteIds: [siteId],
      spark: { baseUrl: "https://spark.invalid/api", tokenId: 1_000_000 + siteId, secretToken: "x".repeat(40), integratorId: "1", signKey: "k" },
    }),
  });
  if (created.status !== 201) throw new Error(`onboarding failed: ${created.status} ${await created.text()}`);
  const { sparkCallbackSecret } = (await created.json()) as { sparkCallbackSecret: string };

  const stats = await load(total, concurrency, async (i) => {
    const body = `{"HwSerial":"0434334921100366","MachineId":${71_000_000 + (i % 1000)},"NayaxTransactionId":${3_000_000_000 + i},"SparkTransactionId":"${crypto.randomUUID()}","Amount":10.00,"CardLast4Digits":"1234","CardHash":"7f2082ba5dbccf706b6987e75b62083f65b5695bc2d8c827c3e46769d007a9e6","CardUid":"1288528281124927","ServiceStationNumber":"5","SiteId":${siteId},"MachineAuTime":"20240205194122328"}`;
    const res = await fetch(`${gateway}/spark/TransactionNotify`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Spark-Secret": sparkCallbackSecret },
      body,
    });
    return res.status === 200 && (await res.text()).includes('"Approved"');
  });
  const result = { requests: total, concurrency, failures: stats.failures, requestsPerSecond: stats.requestsPerSecond, p50Ms: stats.p50Ms, p99Ms: stats.p99Ms };
  console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
