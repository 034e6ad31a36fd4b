import { fromBase64, toBase64 } from "../lib/crypto";
import { describe, it, expect } from "vitest";
import { Webhook } from "standardwebhooks";
import {
  WEBHOOK_SECRET_BYTES,
  WEBHOOK_USER_AGENT,
  decodeWebhookSecret,
  generateWebhookSecret,
  signWebhook,
  webhookHeaders,
} from "./signing";

const body = JSON.stringify({
  id: "evt_01",
  type: "session.authorized",
  timestamp: "2024-02-05T19:41:22.328Z",
  data: { sequence: 1, session: { id: "12c7cec2-c690-4425-9a1f-db0db60e2d8c", status: "authorized", note: "Zürich ⚡" } },
});
const now = () => Math.floor(Date.now() / 1000);

describe("generateWebhookSecret", () => {
  it("is whsec_ + base64 of 32 random bytes, different every time", () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(decodeWebhookSecret(a)).toHaveLength(WEBHOOK_SECRET_BYTES);
    expect(a).not.toBe(b);
  });

  it("is accepted by the standardwebhooks library", () => {
    expect(() => new Webhook(generateWebhookSecret())).not.toThrow();
  });
});

describe("base64 helpers", () => {
  it("round-trip every byte value", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(fromBase64(toBase64(bytes))).toEqual(bytes);
  });

  it("reject invalid base64", () => {
    expect(() => fromBase64("not base64!")).toThrow(/invalid base64/);
  });
});

describe("signWebhook", () => {
  it("matches the Standard Webhooks reference vector", async () => {
    const signature = await signWebhook({
      id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
      timestamp: 1614265330,
      body: '{"test": 2432232314}',
      secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    });
    expect(signature).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("matches the library's own signer, one v1 entry per secret, space-separated", async () => {
    const [s1, s2] = [generateWebhookSecret(), generateWebhookSecret()];
    const timestamp = 1_700_000_000;
    const signature = await signWebhook({ id: "evt_01", timestamp, body, secrets: [s1, s2] });
    const date = new Date(timestamp * 1000);
    expect(signature).toBe(`${new Webhook(s1).sign("evt_01", date, body)} ${new Webhook(s2).sign("evt_01", date, body)}`);
  });

  it("refuses to sign without a secret, with a malformed secret or a fractional timestamp", async () => {
    await expect(signWebhook({ id: "evt_01", timestamp: now(), body, secrets: [] })).rejects.toThrow(/at least one/);
    await expect(signWebhook({ id: "evt_01", timestamp: now(), body, secrets: ["abc"] })).rejects.toThrow(/whsec_/);
    await expect(signWebhook({ id: "evt_01", timestamp: now(), body, secrets: ["whsec_"] })).rejects.toThrow(/empty/);
    await expect(signWebhook({ id: "evt_01", timestamp: now(), body, secrets: ["whsec_%%%"] })).rejects.toThrow(/base64/);
    await expect(
      signWebhook({ id: "evt_01", timestamp: 1.5, body, secrets: [generateWebhookSecret()] }),
    ).rejects.toThrow(/integer/);
  });
});

describe("webhookHeaders verified by the standardwebhooks library", () => {
  it("carries every header", async () => {
    const timestamp = now();
    const headers = await webhookHeaders({ id: "evt_01", timestamp, body, secrets: [generateWebhookSecret()] });
    expect(Object.keys(headers).sort()).toEqual(
      ["content-type", "user-agent", "webhook-id", "webhook-signature", "webhook-timestamp"].sort(),
    );
    expect(headers["webhook-id"]).toBe("evt_01");
    expect(headers["webhook-timestamp"]).toBe(String(timestamp));
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["user-agent"]).toBe(WEBHOOK_USER_AGENT);
  });

  it("verifies with the single live secret and returns the parsed body", async () => {
    const secret = generateWebhookSecret();
    const headers = await webhookHeaders({ id: "evt_01", timestamp: now(), body, secrets: [secret] });
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("verifies with each of two live secrets on its own (rotation overlap)", async () => {
    const oldSecret = generateWebhookSecret();
    const newSecret = generateWebhookSecret();
    const headers = await webhookHeaders({ id: "evt_01", timestamp: now(), body, secrets: [newSecret, oldSecret] });
    expect(headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    expect(() => new Webhook(oldSecret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(newSecret).verify(body, headers)).not.toThrow();
  });

  it("fails for a tampered body", async () => {
    const secret = generateWebhookSecret();
    const headers = await webhookHeaders({ id: "evt_01", timestamp: now(), body, secrets: [secret] });
    expect(() => new Webhook(secret).verify(body.replace("authorized", "settled"), headers)).toThrow(
      /No matching signature/,
    );
  });

  it("fails for a tampered id or timestamp", async () => {
    const secret = generateWebhookSecret();
    const headers = await webhookHeaders({ id: "evt_01", timestamp: now(), body, secrets: [secret] });
    expect(() => new Webhook(secret).verify(body, { ...headers, "webhook-id": "evt_02" })).toThrow();
    const otherTimestamp = String(Number(headers["webhook-timestamp"]) - 1);
    expect(() => new Webhook(secret).verify(body, { ...headers, "webhook-timestamp": otherTimestamp })).toThrow();
  });

  it("fails for a wrong secret", async () => {
    const headers = await webhookHeaders({ id: "evt_01", timestamp: now(), body, secrets: [generateWebhookSecret()] });
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow(/No matching signature/);
  });
});
