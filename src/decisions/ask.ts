/**
 * Asks a tenant's decision endpoint whether to approve a Device Start authorization (CONTRACT
 * §5): one signed POST, a hard deadline, and the tenant's fallback for anything but a clear
 * answer. Never throws, never retries: Spark is waiting.
 */
import { randomId } from "../lib/crypto";
import type { Authorization, DecisionView } from "../sessions/model";
import { webhookHeaders } from "../webhooks/signing";
import type { Decider } from "./endpoint";

/** The tenant has this long to answer, from sending; Spark's own wait leaves room for no more. */
export const DECISION_DEADLINE_MS = 2_000;
/** Spark shows `StatusMessage` on the terminal; longer messages are cut. */
export const DECISION_MESSAGE_MAX_CHARS = 100;

/** The authorization as the decision request describes it. */
export interface DecisionRequest {
  sessionId: string;
  flow: "device_start";
  authorization: Authorization;
}

export async function askDecision(decider: Decider, request: DecisionRequest, deadlineMs = DECISION_DEADLINE_MS): Promise<DecisionView> {
  const id = randomId("dec_");
  const { authorization: a } = request;
  const body = JSON.stringify({
    id,
    type: "authorization.requested",
    timestamp: new Date().toISOString(),
    data: {
      authorization: {
        sessionId: request.sessionId,
        flow: request.flow,
        siteId: a.siteId,
        machineId: a.machineId,
        hwSerial: a.hwSerial,
        serviceStationNumber: a.serviceStationNumber,
        nayaxTransactionId: a.nayaxTransactionId,
        amount: a.amount,
        card: a.card,
        deviceTime: a.deviceTime,
      },
    },
  });
  const started = Date.now();
  const fallback = (error: string): DecisionView => ({
    source: "fallback",
    approved: decider.fallback === "approve",
    message: null,
    error,
    durationMs: Date.now() - started,
  });
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The deadline holds whatever the endpoint does: the exchange is raced against it, not only aborted.
  const deadline = new Promise<DecisionView>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve(fallback("timeout"));
    }, deadlineMs);
  });
  const asked = exchange(decider, id, body, started, controller.signal).then((result) =>
    "error" in result ? fallback(result.error) : { source: "tenant" as const, ...result, error: null, durationMs: Date.now() - started },
  );
  try {
    return await Promise.race([asked, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** One signed POST and its answer read as a verdict, or what went wrong. */
async function exchange(
  decider: Decider,
  id: string,
  body: string,
  started: number,
  signal: AbortSignal,
): Promise<{ approved: boolean; message: string | null } | { error: string }> {
  try {
    const headers = await webhookHeaders({ id, timestamp: Math.floor(started / 1000), body, secrets: decider.secrets });
    const response = await fetch(decider.url, { method: "POST", headers, body, redirect: "manual", signal });
    const text = await response.text();
    if (response.status < 200 || response.status > 299) return { error: `http ${response.status}` };
    return readVerdict(text) ?? { error: "invalid answer" };
  } catch (error) {
    return { error: signal.aborted ? "timeout" : `unreachable: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** `{"approve": boolean, "message"?: string}`, or null for anything else. */
function readVerdict(text: string): { approved: boolean; message: string | null } | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof json !== "object" || json === null || typeof (json as { approve?: unknown }).approve !== "boolean") return null;
  const { approve, message } = json as { approve: boolean; message?: unknown };
  return { approved: approve, message: typeof message === "string" && message.trim() !== "" ? message.slice(0, DECISION_MESSAGE_MAX_CHARS) : null };
}
