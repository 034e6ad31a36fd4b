import { describe, it, expect } from "vitest";
import { z } from "zod";
import {
  MAX_URL_LENGTH,
  RESERVED_HEADER_NAMES,
  checkWebhookUrl,
  httpsUrlSchema,
  isLoopbackHost,
  isReservedHeader,
} from "./url-policy";

function reasonOf(raw: string): string {
  const result = checkWebhookUrl(raw);
  if (result.ok) throw new Error(`expected ${raw} to be refused`);
  return result.reason;
}

describe("checkWebhookUrl accepts", () => {
  it.each([
    "https://csms.example/hooks/spark",
    "https://spark-qa.example/api",
    "https://csms.example",
    "https://csms.example:8443/hooks?tenant=acme&x=1",
    "https://10.0.0.5/hook",
    "https://[2001:db8::1]/hook",
    "http://localhost:9999/hook",
    "http://LOCALHOST/hook",
    "http://localhost./hook",
    "http://receiver.localhost:3000/",
    "http://127.0.0.1:9999",
    "http://127.10.20.30/x",
    "http://[::1]:9999/hook",
  ])("%s, unchanged", (raw) => {
    expect(checkWebhookUrl(raw)).toEqual({ ok: true, url: raw });
  });

  it("trims surrounding whitespace", () => {
    expect(checkWebhookUrl("  https://csms.example/hook \n")).toEqual({ ok: true, url: "https://csms.example/hook" });
  });
});

describe("checkWebhookUrl refuses", () => {
  it.each([
    ["", /empty/],
    ["   ", /empty/],
    ["/hooks/spark", /absolute/],
    ["csms.example/hook", /absolute/],
    ["https:csms.example/hook", /absolute/],
    ["https://", /absolute/],
    ["not a url", /spaces/],
    ["https://csms.example/ho ok", /spaces/],
    ["https://csms.ex\tample/hook", /control/],
    ["https://csms.example\\hook", /backslash/],
    ["ftp://csms.example/hook", /https/],
    ["javascript://alert(1)", /https/],
    ["http://csms.example/hook", /loopback/],
    ["http://10.0.0.5/hook", /loopback/],
    ["http://127.0.0.1.nip.io/hook", /loopback/],
    ["http://localhost.evil.example/hook", /loopback/],
    ["http://[::2]/hook", /loopback/],
    ["http://0.0.0.0/hook", /loopback/],
    ["https://user:pw@csms.example/hook", /username or password/],
    ["https://user@csms.example/hook", /username or password/],
    ["https://@csms.example/hook", /username or password/],
    ["http://user:pw@localhost/hook", /username or password/],
    ["https://csms.example/hook#frag", /fragment/],
    ["https://csms.example/hook#", /fragment/],
    [`https://csms.example/${"a".repeat(MAX_URL_LENGTH)}`, /longer/],
  ])("%j", (raw, reason) => {
    expect(reasonOf(raw)).toMatch(reason);
  });

  it("treats an @ in the path or query as harmless", () => {
    expect(checkWebhookUrl("https://csms.example/hooks/@acme?by=a@b").ok).toBe(true);
  });
});

describe("isLoopbackHost", () => {
  it("knows the loopback names", () => {
    for (const host of ["localhost", "a.b.localhost", "127.0.0.1", "127.255.255.255", "[::1]"]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ["localhost.example", "128.0.0.1", "127.0.0.256", "example.com", "[::]", "::1"]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it("matches what the URL parser makes of short IPv4 forms", () => {
    expect(checkWebhookUrl("http://127.1:9999/hook").ok).toBe(true);
    expect(checkWebhookUrl("http://0x7f.0.0.1/hook").ok).toBe(true);
  });
});

describe("httpsUrlSchema", () => {
  const body = z.object({ webhookUrl: httpsUrlSchema });

  it("passes a good URL through, trimmed", () => {
    expect(body.parse({ webhookUrl: " https://csms.example/hook " })).toEqual({ webhookUrl: "https://csms.example/hook" });
  });

  it("reports the policy's reason on the field", () => {
    const result = body.safeParse({ webhookUrl: "http://csms.example/hook" });
    expect(result.success).toBe(false);
    expect(result.error?.issues).toHaveLength(1);
    expect(result.error?.issues[0]?.path).toEqual(["webhookUrl"]);
    expect(result.error?.issues[0]?.message).toMatch(/must use https:\/\//);
  });

  it("refuses credentials with a clear message", () => {
    const result = httpsUrlSchema.safeParse("https://u:p@csms.example/");
    expect(result.error?.issues[0]?.message).toBe("URL must not contain a username or password");
  });

  it("refuses non-strings", () => {
    expect(httpsUrlSchema.safeParse(42).success).toBe(false);
  });

  it("describes itself as a URI for OpenAPI", () => {
    expect(httpsUrlSchema.meta()?.format).toBe("uri");
  });
});

describe("reserved headers", () => {
  it("lists the gateway's own headers in lowercase", () => {
    expect([...RESERVED_HEADER_NAMES].sort()).toEqual(
      ["content-length", "content-type", "host", "user-agent", "webhook-id", "webhook-signature", "webhook-timestamp"],
    );
  });

  it("matches case-insensitively", () => {
    expect(isReservedHeader("Webhook-Signature")).toBe(true);
    expect(isReservedHeader(" HOST ")).toBe(true);
    expect(isReservedHeader("Content-Type")).toBe(true);
    expect(isReservedHeader("x-api-key")).toBe(false);
    expect(isReservedHeader("authorization")).toBe(false);
  });
});
