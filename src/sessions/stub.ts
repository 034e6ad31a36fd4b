import type { SessionObject } from "./session-object";

/** The session object for a SparkTransactionId. */
export function sessionStub(env: Env, sessionId: string): DurableObjectStub<SessionObject> {
  const ns = env.SESSIONS as unknown as DurableObjectNamespace<SessionObject>;
  return ns.get(ns.idFromName(sessionId));
}
