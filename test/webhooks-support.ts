/**
 * A fake tenant receiver for the webhook suites: `fetch` is intercepted once per file, every
 * request aimed at a receiver's host is recorded and answered by that receiver's `reply`,
 * anything else goes to the real fetch. Events are checked with the reference
 * `standardwebhooks` library, as a tenant would.
 */
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, expect, vi } from "vitest";
import { stopCallback, transactionNotify } from "./fixtures";
import { newSessionId } from "./helpers";
import type { Onboarded } from "./helpers";
import { sparkCall, tenantJson } from "./support";

/** Where an event stands for an endpoint, as recorded in D1; null when nothing is recorded. */
export async function deliveryState(eventId: string, endpointId: string): Promise<string | null> {
  const row = await env.DB.prepare("SELECT state FROM deliveries WHERE event_id = ? AND endpoint_id = ?").bind(eventId, endpointId).first<{ state: string }>();
  return row?.state ?? null;
}

/** Generous bound for anything that waits on alarms and retries (the schedule is "1,1,1" in tests). */
export const WAIT = { timeout: 15_000, interval: 50 };

export interface WebhookEvent {
  id: string;
  type: string;
  timestamp: string;
  data: { sequence: number; session: { id: string; status: string } & Record<string, unknown> } & Record<string, unknown>;
}

/** One request that reached a receiver, with the answer it got. */
export interface Delivery {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** `Date.now()` when it arrived. */
  at: number;
  redirect: Request["redirect"];
  event: WebhookEvent;
  /** The status the receiver answered. */
  status: number;
}

/** How a receiver answers its `nth` request (1-based, counted per receiver). */
export type Reply = (delivery: Delivery, nth: number) => Response | Promise<Response>;

const receivers = new Map<string, Receiver>();
let hosts = 0;

export class Receiver {
  readonly host = `hooks-${++hosts}-${crypto.randomUUID().slice(0, 8)}.csms.example`;
  readonly url = `https://${this.host}/spark`;
  readonly received: Delivery[] = [];

  constructor(public reply: Reply = () => new Response(null, { status: 204 })) {
    receivers.set(this.host, this);
  }

  async handle(request: Request): Promise<Response> {
    const body = await request.text();
    const delivery: Delivery = {
      url: request.url,
      headers: Object.fromEntries(request.headers),
      body,
      at: Date.now(),
      redirect: request.redirect,
      event: JSON.parse(body) as WebhookEvent,
      status: 0,
    };
    this.received.push(delivery);
    const response = await this.reply(delivery, this.received.length);
    delivery.status = response.status;
    return response;
  }

  /** Requests carrying this event. */
  of(eventId: string): Delivery[] {
    return this.received.filter((d) => d.event.id === eventId);
  }

  /** Requests answered with a 2xx. */
  delivered(): Delivery[] {
    return this.received.filter((d) => d.status >= 200 && d.status < 300);
  }
}

/** Intercepts `fetch` for the whole file (alarms of earlier tests may still be retrying). */
export function interceptWebhooks(): void {
  beforeAll(() => {
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      const receiver = receivers.get(new URL(request.url).host);
      return receiver ? receiver.handle(request) : realFetch(input, init);
    });
  });
  afterAll(() => vi.restoreAllMocks());
}

/** Verifies a delivery with `secret` exactly as a tenant would; throws when it does not verify. */
export function verify(secret: string, delivery: Delivery): WebhookEvent {
  return new Webhook(secret).verify(delivery.body, delivery.headers) as WebhookEvent;
}

export interface CreatedEndpoint {
  id: string;
  url: string;
  enabled: boolean;
  disabledReason: string | null;
  eventTypes: string[] | null;
  headers: Record<string, string>;
  createdAt: string;
  secret: string;
}

/** `POST /v1/webhook-endpoints`, expecting 201. */
export async function createEndpoint(apiKey: string, input: Record<string, unknown>): Promise<CreatedEndpoint> {
  const res = await tenantJson<CreatedEndpoint>(apiKey, "/v1/webhook-endpoints", { method: "POST", json: input });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

export interface AttemptView {
  endpointId: string;
  attemptedAt: string;
  status: number | null;
  error: string | null;
  durationMs: number;
  trigger: "scheduled" | "manual" | "recover";
  nextAttemptAt: string | null;
}

/** `GET /v1/events/{id}/attempts`, optionally for one endpoint only. */
export async function attemptsOf(apiKey: string, eventId: string, endpointId?: string): Promise<AttemptView[]> {
  const res = await tenantJson<{ data: AttemptView[] }>(apiKey, `/v1/events/${eventId}/attempts`);
  expect(res.status, res.text).toBe(200);
  return res.body.data.filter((a) => endpointId === undefined || a.endpointId === endpointId);
}

/**
 * Waits until the events API knows `eventId`. A webhook goes out before its event reaches D1, so
 * for one writer batch after it arrives the events API can still answer 404 (README, Limits).
 */
export async function eventKnown(apiKey: string, eventId: string): Promise<void> {
  await vi.waitFor(async () => expect((await tenantJson(apiKey, `/v1/events/${eventId}`)).status).toBe(200), WAIT);
}

let nayaxIds = 3_000_000_000;

/** A Device Start session on `siteId`: TransactionNotify, approved. Answers the session id. */
export async function authorizeSession(tenant: Onboarded, siteId: number, id = newSessionId()): Promise<{ id: string; nayaxTransactionId: number }> {
  const nayaxTransactionId = nayaxIds++;
  const answer = await sparkCall(
    "TransactionNotify",
    transactionNotify({ SiteId: siteId, SparkTransactionId: id, NayaxTransactionId: nayaxTransactionId }),
    tenant.sparkCallbackSecret,
  );
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  expect(answer.body.Status.Verdict).toBe("Approved");
  return { id, nayaxTransactionId };
}

/** StopCallback for a session authorized by {@link authorizeSession} (same card): `session.stop_requested`. */
export async function stopSession(tenant: Onboarded, session: { id: string; nayaxTransactionId: number }, siteId: number): Promise<void> {
  const answer = await sparkCall(
    "StopCallback",
    { ...stopCallback, StopSiteId: siteId, SparkTransactionId: session.id, NayaxTransactionId: session.nayaxTransactionId },
    tenant.sparkCallbackSecret,
  );
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  expect(answer.body.Status.Verdict).toBe("Approved");
}

/** TimeoutCallback for a session: `session.timed_out`, a third event after authorized and stop_requested. */
export async function timeOutSession(tenant: Onboarded, session: { id: string }): Promise<void> {
  const answer = await sparkCall("TimeoutCallback", { SparkTransactionId: session.id, MachineId: 71234996 }, tenant.sparkCallbackSecret);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
}

/** One delivery of an event, as the API shows it (CONTRACT §11). */
export interface DeliveryView {
  endpointId: string;
  status: "pending" | "delivered" | "failed" | "skipped";
  attempts: number;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
}

/** An event as the events API and the timeline answer it: the body as sent, with its deliveries. */
export type EventWithDeliveries = WebhookEvent & { deliveries: DeliveryView[] };

/** `GET /v1/events/{id}`, expecting 200. */
export async function readEvent(apiKey: string, eventId: string): Promise<EventWithDeliveries> {
  const res = await tenantJson<EventWithDeliveries>(apiKey, `/v1/events/${eventId}`);
  expect(res.status, res.text).toBe(200);
  return res.body;
}

/** The deliveries of an event, from the events API, by endpoint id. */
export async function deliveriesByEndpoint(apiKey: string, eventId: string): Promise<Record<string, DeliveryView>> {
  return Object.fromEntries((await readEvent(apiKey, eventId)).deliveries.map((d) => [d.endpointId, d]));
}

/**
 * A session's events (timeline order), read from the session itself. Deliberately not `flush()`:
 * running the alarm by hand while the scheduled one is mid-delivery would run two alarms at once,
 * which the runtime never does.
 */
export async function sessionEventIds(apiKey: string, sessionId: string): Promise<Array<{ id: string; type: string; sequence: number }>> {
  const res = await tenantJson<{ events: WebhookEvent[] }>(apiKey, `/v1/sessions/${sessionId}`);
  expect(res.status, res.text).toBe(200);
  return res.body.events.map((e) => ({ id: e.id, type: e.type, sequence: e.data.sequence }));
}

/** Waits a while and asserts that nothing more arrived at `receiver` in that time. */
export async function expectQuiet(receiver: Receiver, ms: number): Promise<void> {
  const before = receiver.received.length;
  await new Promise((resolve) => setTimeout(resolve, ms));
  expect(receiver.received.slice(before).map((d) => `${d.event.type}#${d.event.id}`)).toEqual([]);
}
