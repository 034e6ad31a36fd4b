/**
 * What the portal reads from the tenant API. Fields that newer API versions add are optional,
 * so a page renders whatever the API has, and nothing where a field is not there.
 */

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface Delivery {
  endpointId: string;
  status: "pending" | "delivered" | "failed" | "skipped" | string;
  attempts?: number;
  lastAttemptAt?: string | null;
  nextAttemptAt?: string | null;
}

export interface EventBody {
  id: string;
  type: string;
  timestamp: string;
  data?: { sequence?: number; session?: SessionView; [key: string]: unknown };
  deliveries?: Delivery[];
}

export interface Attempt {
  endpointId: string;
  attemptedAt: string;
  status: number | null;
  error: string | null;
  durationMs: number;
  responseExcerpt?: string | null;
  trigger?: string;
  nextAttemptAt?: string | null;
}

export interface SparkFailure {
  method?: string;
  code: number | null;
  description: string;
  at?: string;
}

export interface SessionView {
  id: string;
  flow?: string;
  status: string;
  nayaxTransactionId?: number | null;
  siteId?: number | null;
  stopSiteId?: number | null;
  machineId?: number | null;
  hwSerial?: string | null;
  serviceStationNumber?: string | null;
  authorizedAmount?: string | null;
  settledAmount?: string | null;
  currency?: string | null;
  card?: { last4: string | null; hash: string | null; uid: string | null } | null;
  deviceTime?: string | null;
  verdict?: { approved: boolean; message: string | null } | null;
  decline?: { code: number | null; description: string | null } | null;
  settlement?: Record<string, string | null> | null;
  lastSparkError?: SparkFailure | null;
  decision?: { source?: string; approved?: boolean; message?: string | null; error?: string | null; durationMs?: number } | null;
  operation?: {
    kind?: string;
    amount?: string | null;
    state?: string;
    since?: string;
    attempts?: number;
    lastError?: { code: number | null; description: string } | null;
  } | null;
  ocpi?: Record<string, unknown> | null;
  overdue?: boolean;
  createdAt: string;
  updatedAt: string;
  events?: EventBody[];
}

export interface EndpointHealth {
  lastSuccessAt?: string | null;
  lastFailureAt?: string | null;
  lastError?: string | null;
  recentSuccessRate?: string | null;
  pendingCount?: number;
  nextAttemptAt?: string | null;
}

export interface Endpoint {
  id: string;
  url: string;
  enabled: boolean;
  disabledReason: string | null;
  eventTypes: string[] | null;
  headers?: Record<string, string>;
  createdAt: string;
  health?: EndpointHealth;
}

export interface DecisionEndpoint {
  url: string;
  fallback: string;
  createdAt?: string;
  updatedAt?: string;
}

export interface OcpiConnection {
  status: string;
  version?: string | null;
  initiatedBy?: string | null;
  tokenEncoding?: string | null;
  emsp?: { countryCode?: string; partyId?: string; versionsUrl?: string } | null;
  cpo?: {
    versionsUrl?: string | null;
    parties?: Array<{ countryCode?: string; partyId?: string; role?: string | null; name?: string | null }>;
    endpoints?: Array<{ identifier?: string; role?: string | null; url?: string }>;
  } | null;
  additionalParties?: Array<{ countryCode?: string; partyId?: string }>;
  lastSync?: Record<string, { at?: string; count?: number; pages?: number; error?: string | null } | null> | null;
  registeredAt?: string | null;
  updatedAt?: string | null;
}

export { EVENT_TYPES as EVENT_TYPE_CHOICES, SESSION_STATUSES as SESSION_STATUS_CHOICES } from "../sessions/model";

export const DELIVERY_STATUS_CHOICES = ["pending", "delivered", "failed", "skipped"] as const;
