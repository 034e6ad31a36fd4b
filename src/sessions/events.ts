import { randomId } from "../lib/crypto";
import type { EventType, SessionView } from "./model";

/** A webhook body, exactly as it is stored, signed and sent. */
export interface EventBody {
  id: string;
  type: EventType;
  timestamp: string;
  data: { sequence: number; session: SessionView } | Record<string, unknown>;
}

/** Builds the event for a session's `sequence`-th change. */
export function sessionEvent(type: EventType, sequence: number, session: SessionView, at: Date): EventBody {
  return { id: randomId("evt_"), type, timestamp: at.toISOString(), data: { sequence, session } };
}
