import { afterEach, describe, it, expect, vi } from "vitest";
import { DELIVERY_TIMEOUT_MS, RESPONSE_EXCERPT_MAX_CHARS, attemptDelivery } from "./attempt";
import { MAX_RETRY_AFTER_MS } from "./schedule";

const args = {
  url: "https://csms.example/hooks/spark",
  headers: { "content-type": "application/json", "webhook-id": "evt_01" },
  body: '{"id":"evt_01"}',
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe("attemptDelivery", () => {
  it("POSTs the body with the headers, without following redirects, under a deadline", async () => {
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response(null, { status: 204 }));
    await attemptDelivery(args);
    expect(spy).toHaveBeenCalledTimes(1);
    const [url, init] = spy.mock.calls[0]!;
    expect(url).toBe(args.url);
    expect(init?.method).toBe("POST");
    expect(init?.body).toBe(args.body);
    expect(init?.headers).toEqual(args.headers);
    expect(init?.redirect).toBe("manual");
    expect(init?.signal).toBeInstanceOf(AbortSignal);
    expect(DELIVERY_TIMEOUT_MS).toBe(15_000);
  });

  it("counts a 2xx as delivered and keeps an excerpt of the answer", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("thanks", { status: 200 }));
    const outcome = await attemptDelivery(args);
    expect(outcome).toMatchObject({
      status: 200,
      ok: true,
      error: null,
      responseExcerpt: "thanks",
      retryAfterMs: null,
      gone: false,
    });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("reports an empty answer as no excerpt", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response(null, { status: 204 }));
    expect(await attemptDelivery(args)).toMatchObject({ status: 204, ok: true, responseExcerpt: null });
  });

  it("cuts the excerpt at 256 characters without splitting a character", async () => {
    const long = "⚡".repeat(1000);
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response(long, { status: 200 }));
    const outcome = await attemptDelivery(args);
    expect(outcome.responseExcerpt).toBe("⚡".repeat(RESPONSE_EXCERPT_MAX_CHARS));
  });

  it("counts a 500 as failed", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("boom", { status: 500 }));
    expect(await attemptDelivery(args)).toMatchObject({
      status: 500,
      ok: false,
      error: "HTTP 500",
      responseExcerpt: "boom",
      retryAfterMs: null,
      gone: false,
    });
  });

  it("counts a 301 as failed and does not follow it", async () => {
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation(
      async () => new Response(null, { status: 301, headers: { location: "https://elsewhere.example/" } }),
    );
    const outcome = await attemptDelivery(args);
    expect(outcome).toMatchObject({ status: 301, ok: false, gone: false });
    expect(outcome.error).toMatch(/redirect to https:\/\/elsewhere\.example\/ not followed/);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it("flags 410 as gone", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("gone", { status: 410 }));
    expect(await attemptDelivery(args)).toMatchObject({ status: 410, ok: false, gone: true });
  });

  it("reads Retry-After in seconds and as a date, capped", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(
      async () => new Response(null, { status: 503, headers: { "retry-after": "30" } }),
    );
    expect(await attemptDelivery(args)).toMatchObject({ status: 503, ok: false, retryAfterMs: 30_000 });

    vi.spyOn(globalThis, "fetch").mockImplementation(
      async () => new Response(null, { status: 429, headers: { "retry-after": "604800" } }),
    );
    expect((await attemptDelivery(args)).retryAfterMs).toBe(MAX_RETRY_AFTER_MS);

    const inTenMinutes = new Date(Date.now() + 600_000).toUTCString();
    vi.spyOn(globalThis, "fetch").mockImplementation(
      async () => new Response(null, { status: 503, headers: { "retry-after": inTenMinutes } }),
    );
    const fromDate = (await attemptDelivery(args)).retryAfterMs!;
    expect(fromDate).toBeGreaterThan(590_000);
    expect(fromDate).toBeLessThanOrEqual(600_000);
  });

  it("ignores Retry-After on a success", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(
      async () => new Response(null, { status: 202, headers: { "retry-after": "30" } }),
    );
    expect((await attemptDelivery(args)).retryAfterMs).toBeNull();
  });

  it("turns a thrown fetch into a network error, without throwing", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => {
      throw new TypeError("connection refused");
    });
    expect(await attemptDelivery(args)).toMatchObject({
      status: null,
      ok: false,
      error: "network error: connection refused",
      responseExcerpt: null,
      retryAfterMs: null,
      gone: false,
    });
  });

  it("survives odd throw values", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => {
      throw "x".repeat(1000);
    });
    const outcome = await attemptDelivery(args);
    expect(outcome.status).toBeNull();
    expect(outcome.error!.length).toBeLessThanOrEqual(200);
  });

  it("gives up after timeoutMs", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(
      (_input, init) =>
        new Promise<Response>((_resolve, reject) => {
          const signal = init?.signal;
          signal?.addEventListener("abort", () => reject(signal.reason));
        }),
    );
    const outcome = await attemptDelivery({ ...args, timeoutMs: 50 });
    expect(outcome).toMatchObject({ status: null, ok: false, error: "timeout after 50 ms", gone: false });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(40);
  });

  it("keeps the outcome when the body breaks off after the status", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("partial"));
          controller.error(new Error("reset"));
        },
      });
      return new Response(body, { status: 200 });
    });
    expect(await attemptDelivery(args)).toMatchObject({ status: 200, ok: true });
  });

  it("uses an injected fetcher instead of the global fetch", async () => {
    const global = vi.spyOn(globalThis, "fetch");
    const fetcher = vi.fn(async () => new Response("ok", { status: 201 })) as unknown as typeof fetch;
    expect(await attemptDelivery({ ...args, fetcher })).toMatchObject({ status: 201, ok: true });
    expect(fetcher).toHaveBeenCalledTimes(1);
    expect(global).not.toHaveBeenCalled();
  });

  it("reports an invalid URL as a failure", async () => {
    expect(await attemptDelivery({ ...args, url: "not a url" })).toMatchObject({ status: null, ok: false });
  });
});
