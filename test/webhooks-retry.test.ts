/**
 * Retries under the compressed test schedule (WEBHOOK_RETRY_SCHEDULE="1,1,1": four attempts,
 * about a second apart): giving up, what counts as success, and Retry-After (CONTRACT §6).
 */
import { describe, expect, it, vi } from "vitest";
import {
  Receiver,
  WAIT,
  deliveryState,
  attemptsOf,
  authorizeSession,
  createEndpoint,
  expectQuiet,
  interceptWebhooks,
  sessionEventIds,
  stopSession,
  verify,
} from "./webhooks-support";
import { tenantWithSites } from "./support";

interceptWebhooks();

/** 1 + the three retries of "1,1,1". */
const ATTEMPTS = 4;
/** The shortest retry delay the schedule can give: 1 s − 20 % jitter, less a little clock slack. */
const MIN_GAP_MS = 750;

describe.concurrent("retries", () => {
  it("gives up after 4 attempts on a receiver answering 500, records them all, then sends the next event", async () => {
    const tenant = await tenantWithSites();
    const site = tenant.siteIds[0]!;
    const receiver = new Receiver((d) =>
      d.event.type === "session.authorized" ? new Response("boom", { status: 500 }) : new Response(null, { status: 204 }),
    );
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });
    const session = await authorizeSession(tenant, site);
    await vi.waitFor(() => expect(receiver.received.length).toBeGreaterThanOrEqual(1), WAIT);
    await stopSession(tenant, session, site);
    const [authorized, stopped] = await sessionEventIds(tenant.apiKey, session.id);

    await vi.waitFor(() => expect(receiver.of(stopped!.id).filter((d) => d.status === 204)).toHaveLength(1), WAIT);
    const first = receiver.of(authorized!.id);
    expect(first.map((d) => d.status)).toEqual(Array(ATTEMPTS).fill(500));
    // The next event waited until the last attempt of the first one was given up.
    expect(receiver.of(stopped!.id)[0]!.at).toBeGreaterThanOrEqual(first[ATTEMPTS - 1]!.at);
    for (let i = 1; i < ATTEMPTS; i++) expect(first[i]!.at - first[i - 1]!.at).toBeGreaterThanOrEqual(MIN_GAP_MS);
    expect(verify(endpoint.secret, first[ATTEMPTS - 1]!).data.sequence).toBe(1);
    expect(verify(endpoint.secret, receiver.of(stopped!.id)[0]!).data.sequence).toBe(2);

    // Attempts reach D1 through the session's outbox, after the deliveries themselves.
    const attempts = await vi.waitFor(async () => {
      const recorded = await attemptsOf(tenant.apiKey, authorized!.id);
      expect(recorded).toHaveLength(ATTEMPTS);
      return recorded;
    }, WAIT);
    for (const attempt of attempts) {
      expect(attempt.endpointId).toBe(endpoint.id);
      expect(attempt.status).toBe(500);
      expect(attempt.error).toBeTruthy();
      expect(Number.isInteger(attempt.durationMs)).toBe(true);
      expect(attempt.durationMs).toBeGreaterThanOrEqual(0);
      expect(new Date(attempt.attemptedAt).toISOString()).toBe(attempt.attemptedAt);
    }
    const times = attempts.map((a) => Date.parse(a.attemptedAt));
    expect([...times].sort((x, y) => x - y)).toEqual(times);
    expect(await deliveryState(authorized!.id, endpoint.id)).toBe("failed");
    // Every event carries where it stands (CONTRACT §11), the ones through at their first attempt too.
    await vi.waitFor(async () => expect(await deliveryState(stopped!.id, endpoint.id)).toBe("delivered"), WAIT);

    // Given up means given up: no fifth attempt.
    await expectQuiet(receiver, 1_300);
    expect(receiver.of(authorized!.id)).toHaveLength(ATTEMPTS);
  });

  it("counts a 3xx as a failure and does not follow the redirect", async () => {
    const tenant = await tenantWithSites();
    const elsewhere = new Receiver();
    const receiver = new Receiver(() => new Response(null, { status: 302, headers: { Location: elsewhere.url } }));
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });
    await authorizeSession(tenant, tenant.siteIds[0]!);

    await vi.waitFor(() => expect(receiver.received).toHaveLength(ATTEMPTS), WAIT);
    const eventId = receiver.received[0]!.event.id;
    for (const delivery of receiver.received) expect(delivery.redirect).toBe("manual");
    await vi.waitFor(async () => expect(await attemptsOf(tenant.apiKey, eventId)).toHaveLength(ATTEMPTS), WAIT);
    const attempts = await attemptsOf(tenant.apiKey, eventId);
    expect(attempts.map((a) => a.status)).toEqual(Array(ATTEMPTS).fill(302));
    expect(attempts[0]!.error).toMatch(/redirect/i);
    expect(elsewhere.received).toEqual([]);
    expect(await deliveryState(eventId, endpoint.id)).toBe("failed");
  });

  it("honours Retry-After", async () => {
    const tenant = await tenantWithSites();
    const receiver = new Receiver((_, nth) =>
      nth === 1 ? new Response("busy", { status: 503, headers: { "Retry-After": "2" } }) : new Response(null, { status: 204 }),
    );
    await createEndpoint(tenant.apiKey, { url: receiver.url });
    await authorizeSession(tenant, tenant.siteIds[0]!);

    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(1), WAIT);
    expect(receiver.received.map((d) => d.status)).toEqual([503, 204]);
    // The schedule alone would retry after 0.8–1.2 s.
    expect(receiver.received[1]!.at - receiver.received[0]!.at).toBeGreaterThanOrEqual(1_950);
    const attempts = await attemptsOf(tenant.apiKey, receiver.received[0]!.event.id);
    expect(attempts.map((a) => a.status)).toEqual([503, 204]);
    expect(Date.parse(attempts[1]!.attemptedAt) - Date.parse(attempts[0]!.attemptedAt)).toBeGreaterThanOrEqual(1_950);
  });

  it("counts a network error as a failed attempt with no status and retries it", async () => {
    const tenant = await tenantWithSites();
    const receiver = new Receiver((_, nth) => {
      if (nth === 1) throw new TypeError("connection refused");
      return new Response(null, { status: 200 });
    });
    await createEndpoint(tenant.apiKey, { url: receiver.url });
    await authorizeSession(tenant, tenant.siteIds[0]!);

    await vi.waitFor(() => expect(receiver.received.filter((d) => d.status === 200)).toHaveLength(1), WAIT);
    const eventId = receiver.received[0]!.event.id;
    await vi.waitFor(async () => expect(await attemptsOf(tenant.apiKey, eventId)).toHaveLength(2), WAIT);
    const [failed, ok] = await attemptsOf(tenant.apiKey, eventId);
    expect(failed).toMatchObject({ status: null });
    expect(failed!.error).toMatch(/connection refused/);
    expect(ok).toMatchObject({ status: 200, error: null });
  });
});
