/**
 * Facts the OCPI receivers hand to the payment flow (CONTRACT §7.6): a CPO Session, a CDR or a
 * command result that was accepted and changed something, resolved to the gateway session it
 * belongs to. camelCase, exact decimal strings, ISO times in UTC.
 */
import { sessionStub } from "../sessions/stub";
import type { CdrInfo, CommandKind, CommandResult, OcpiVersion, SessionInfo } from "./model";

/** A CPO Session as it now stands (after a PUT, or a PATCH merged into what the gateway held). */
export interface SessionFact extends Omit<SessionInfo, "id"> {
  kind: "session";
  version: OcpiVersion;
  /** The CPO's Session id (becomes `ocpi.sessionId`). */
  sessionId: string;
  /** The correlation id of the CPO's request, for requests the gateway makes in answer (2.2.1). */
  correlationId: string;
}

/** A CDR received for the first time. */
export interface CdrFact extends Omit<CdrInfo, "id"> {
  kind: "cdr";
  version: OcpiVersion;
  cdrId: string;
  /** Where the gateway keeps its copy (the `Location` it answered). */
  cdrUrl: string;
  correlationId: string;
}

/** The result of a command, POSTed by the CPO to the command's `response_url` for the first time. */
export interface CommandResultFact {
  kind: "command_result";
  version: OcpiVersion;
  commandId: string;
  command: CommandKind;
  result: CommandResult;
  message: string | null;
  correlationId: string;
}

export type OcpiFact = SessionFact | CdrFact | CommandResultFact;

/** Hands a fact to the session object it belongs to, where the payment flow (§7.6) applies it. */
export async function forwardFact(env: Env, gatewaySessionId: string, fact: OcpiFact): Promise<void> {
  await sessionStub(env, gatewaySessionId).ocpiFact(fact);
}
