/**
 * A failed webhook attempt logs one warning an operator can act on: the event, the endpoint, what
 * the receiver did, the attempt's number and when the next one is due; never a stack, a secret or
 * a header value.
 */
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { MockInstance } from "vitest";
import { Receiver, WAIT, authorizeSession, createEndpoint, interceptWebhooks, sessionEventIds } from "./webhooks-support";
import { tenantWithSites } from "./support";

interceptWebhooks();

type ConsoleSpy = MockInstance<(...args: unknown[]) => void>;
let spies: ConsoleSpy[] = [];
beforeAll(() => {
  spies = (["log", "warn", "error"] as const).map((channel) => vi.spyOn(console, channel).mockImplementation(() => {}) as ConsoleSpy);
});
// Only these spies: the receivers' fetch interception is restored by its own hook.
afterAll(() => spies.forEach((spy) => spy.mockRestore()));

const printed = () => spies.flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(" ")));

interface Line extends Record<string, unknown> {
  level: string;
  message: string;
}

const warnings = (eventId: string): Line[] =>
  spies[1]!.mock.calls
    .map((args) => String(args[0]))
    .filter((text) => text.startsWith("{"))
    .map((text) => JSON.parse(text) as Line)
    .filter((line) => line.eventId === eventId);

it("logs each failed attempt once, with what happened and what comes next, and nothing secret", async () => {
  const tenant = await tenantWithSites();
  const receiver = new Receiver(() => new Response("internal trace at line 42", { status: 500 }));
  const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url, headers: { Authorization: "Bearer log-must-not-show" } });
  const session = await authorizeSession(tenant, tenant.siteIds[0]!);
  const [event] = await sessionEventIds(tenant.apiKey, session.id);

  // "1,1,1": three failures with a retry each, then a fourth that gives up.
  await vi.waitFor(() => expect(warnings(event!.id)).toHaveLength(4), WAIT);
  const lines = warnings(event!.id);
  expect(lines.map((l) => [l.level, l.message, l.attempt, l.status])).toEqual([
    ["warn", "webhook attempt failed", 1, 500],
    ["warn", "webhook attempt failed", 2, 500],
    ["warn", "webhook attempt failed", 3, 500],
    ["warn", "webhook given up", 4, 500],
  ]);
  for (const line of lines) {
    expect(line).toMatchObject({ eventId: event!.id, endpointId: endpoint.id, error: "HTTP 500", trigger: "scheduled" });
    expect(line).not.toHaveProperty("stack");
  }
  for (const line of lines.slice(0, 3)) expect(new Date(line.nextAttemptAt as string).toISOString()).toBe(line.nextAttemptAt);
  expect(lines[3]!.nextAttemptAt).toBeNull();
  // The receivers got the same number of requests: one line per failed attempt, no more.
  expect(receiver.of(event!.id)).toHaveLength(4);

  const everything = printed().join("\n");
  for (const secret of ["log-must-not-show", endpoint.secret, endpoint.secret.slice("whsec_".length), tenant.apiKey, "internal trace"]) expect(everything).not.toContain(secret);
  expect(everything).not.toMatch(/\n\s+at /);
});

it("does not quote the receiver's redirect target", async () => {
  const tenant = await tenantWithSites();
  const receiver = new Receiver(() => new Response(null, { status: 302, headers: { Location: "https://elsewhere.example/login?token=redirect-token-xyz" } }));
  const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });
  const session = await authorizeSession(tenant, tenant.siteIds[0]!);
  const [event] = await sessionEventIds(tenant.apiKey, session.id);
  await vi.waitFor(() => expect(warnings(event!.id).length).toBeGreaterThanOrEqual(1), WAIT);
  expect(warnings(event!.id)[0]).toMatchObject({ message: "webhook attempt failed", endpointId: endpoint.id, status: 302, error: "HTTP 302", attempt: 1 });
  expect(printed().join("\n")).not.toContain("redirect-token-xyz");
});
