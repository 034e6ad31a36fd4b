/** Device Start handshake: StartSession (CONTRACT §4, spark-api.md §2.6). */
import { ecb } from "@noble/ciphers/aes.js";
import { describe, expect, it } from "vitest";
import { openCipher } from "../src/spark/cipher";
import { tenantInput, transactionNotify } from "./fixtures";
import { admin, tenantCall } from "./helpers";
import type { Onboarded } from "./helpers";
import { expectSparkError, freshMachine, readSession, settle, sparkCall, tenantWithSites, timeline } from "./support";

const HW = "0434334921100366";
const RANDOM = "123456789qwertyui";
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
type Tenant = Onboarded & { siteIds: number[]; spark: { tokenId: number } };

const startSession = (tenant: Tenant, overrides: Record<string, unknown> = {}) =>
  sparkCall("StartSession", { HwSerial: HW, MachineId: 71234996, TokenId: tenant.spark.tokenId, Random: RANDOM, ...overrides }, tenant.sparkCallbackSecret);

/** UTC yyMMddHHmm of a time. */
const cipherMinute = (ms: number) => new Date(ms).toISOString().slice(2, 16).replace(/[-T:]/g, "");

/** AES-256-ECB-PKCS7 decryption under the token's rightmost 32 characters, independent of the gateway's code. */
function decrypt(cipher: string, secretToken: string): string {
  const key = new TextEncoder().encode(secretToken.slice(-32));
  const bytes = Uint8Array.from(atob(cipher), (c) => c.charCodeAt(0));
  expect(bytes.length).toBe(80);
  return new TextDecoder().decode(ecb(key).decrypt(bytes));
}

describe("StartSession", () => {
  it("answers {Cipher, SparkTransactionId, Status} with a cipher of id=Random+yyMMddHHmm under the tenant's secret token", async () => {
    const tenant = (await tenantWithSites(1)) as Tenant;
    const before = Date.now();
    const answer = await startSession(tenant);
    const after = Date.now();
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body).sort()).toEqual(["Cipher", "SparkTransactionId", "Status"]);
    expect(answer.body.Status.Verdict).toBe("Approved");
    const id = answer.body.SparkTransactionId as string;
    expect(id).toMatch(GUID);

    const plaintext = decrypt(answer.body.Cipher as string, tenantInput.spark.secretToken);
    expect(plaintext).toHaveLength(64);
    expect(plaintext.slice(0, 36)).toBe(id);
    expect(plaintext[36]).toBe("=");
    expect(plaintext.slice(37, 54)).toBe(RANDOM);
    expect([cipherMinute(before), cipherMinute(after)]).toContain(plaintext.slice(54));

    // The gateway's own reader agrees.
    expect(openCipher(answer.body.Cipher as string, tenantInput.spark.secretToken)).toEqual({
      sparkTransactionId: id,
      random: RANDOM,
      timestamp: plaintext.slice(54),
    });
  });

  it("creates an awaiting_card session with session.created at sequence 1", async () => {
    const tenant = (await tenantWithSites(1)) as Tenant;
    const machine = freshMachine();
    const answer = await startSession(tenant, { MachineId: machine });
    const id = answer.body.SparkTransactionId as string;
    const session = (await readSession(tenant.apiKey, id))!;
    expect(session).toMatchObject({
      id,
      flow: "device_start",
      status: "awaiting_card",
      machineId: machine,
      hwSerial: HW,
      nayaxTransactionId: null,
      authorizedAmount: null,
      card: null,
    });
    expect(session.events.map((e) => [e.type, e.data.sequence])).toEqual([["session.created", 1]]);
    expect(session.events[0]!.data.session).toMatchObject({ id, status: "awaiting_card" });

    await settle(id);
    const list = await tenantCall(tenant.apiKey, "/v1/sessions?status=awaiting_card");
    expect(((await list.json()) as { data: Array<{ id: string }> }).data.map((s) => s.id)).toEqual([id]);
  });

  it("is authorized by a later TransactionNotify for that id (sequence 2)", async () => {
    const tenant = (await tenantWithSites(1)) as Tenant;
    const machine = freshMachine();
    const started = await startSession(tenant, { MachineId: machine });
    const id = started.body.SparkTransactionId as string;
    const createdAt = (await readSession(tenant.apiKey, id))!.createdAt;

    const notify = await sparkCall("TransactionNotify", transactionNotify({ SiteId: tenant.siteIds[0], MachineId: machine, SparkTransactionId: id }), tenant.sparkCallbackSecret);
    expect(notify.status).toBe(200);
    expect(notify.body).toMatchObject({ SparkTransactionId: id, Status: { Verdict: "Approved" } });
    const session = (await readSession(tenant.apiKey, id))!;
    expect(session).toMatchObject({ id, flow: "device_start", status: "authorized", authorizedAmount: "10.00", siteId: tenant.siteIds[0], createdAt });
    expect(await timeline(tenant.apiKey, id)).toEqual([
      ["session.created", 1],
      ["session.authorized", 2],
    ]);
  });

  it("gives every handshake its own id and cipher, and a repeat of one (same TokenId and Random) the same answer", async () => {
    const tenant = (await tenantWithSites(1)) as Tenant;
    const first = await startSession(tenant, { Random: "abcdefgh123456789" });
    const second = await startSession(tenant, { Random: "abcdefgh987654321" });
    expect(first.body.SparkTransactionId).not.toBe(second.body.SparkTransactionId);
    expect(first.body.Cipher).not.toBe(second.body.Cipher);
    const repeat = await startSession(tenant, { Random: "abcdefgh123456789" });
    expect(repeat.body).toEqual(first.body);
    expect(await timeline(tenant.apiKey, first.body.SparkTransactionId as string)).toEqual([["session.created", 1]]);
  });

  it("is routed by TokenId: each tenant's cipher is under its own secret token", async () => {
    const otherToken = "Zx9".repeat(11) + "-otherTenantSecretTokenTail_0123456789";
    const a = (await tenantWithSites(1)) as Tenant;
    const b = (await tenantWithSites(1, { spark: { ...tenantInput.spark, tokenId: 990_001, secretToken: otherToken } })) as Tenant;
    const fromB = await startSession(b);
    expect(fromB.status).toBe(200);
    const id = fromB.body.SparkTransactionId as string;
    expect(openCipher(fromB.body.Cipher as string, otherToken)?.sparkTransactionId).toBe(id);
    expect(openCipher(fromB.body.Cipher as string, tenantInput.spark.secretToken)).toBeNull();
    expect((await readSession(b.apiKey, id))!.status).toBe("awaiting_card");
    expect(await readSession(a.apiKey, id)).toBeNull();
  });

  it("uses the new secret token after the operator changes it", async () => {
    const tenant = (await tenantWithSites(1)) as Tenant;
    const newToken = "N".repeat(34) + "abcdefghijklmnopqrstuvwxyz012345";
    const patched = await admin(`/admin/tenants/${tenant.id}`, { method: "PATCH", json: { spark: { secretToken: newToken } } });
    expect(patched.status).toBe(200);
    const answer = await startSession(tenant);
    expect(openCipher(answer.body.Cipher as string, newToken)?.sparkTransactionId).toBe(answer.body.SparkTransactionId);
  });

  it("refuses an unknown TokenId (404), another tenant's secret (401) and a malformed Random (400)", async () => {
    const a = (await tenantWithSites(1)) as Tenant;
    const b = (await tenantWithSites(1)) as Tenant;
    expectSparkError(await startSession(a, { TokenId: 123 }), 404, /TokenId/);
    expectSparkError(await sparkCall("StartSession", { HwSerial: HW, MachineId: 1, TokenId: a.spark.tokenId, Random: RANDOM }, b.sparkCallbackSecret), 401);
    expectSparkError(await startSession(a, { Random: "short" }), 400, /^Random/);
    expectSparkError(await startSession(a, { Random: "12345678=qwertyui" }), 400, /^Random/);
    expectSparkError(await startSession(a, { Random: "123456789qwertyuiX" }), 400, /^Random/);
    expectSparkError(await startSession(a, { TokenId: String(a.spark.tokenId) }), 400, /^TokenId/);
    // None of them left a session: the tenant's list is empty.
    const list = await tenantCall(a.apiKey, "/v1/sessions");
    expect(((await list.json()) as { data: unknown[] }).data).toEqual([]);
  });
});
