/**
 * D1 schema: tenants and their claims and keys, stations, and the queryable history of
 * sessions, events and webhook deliveries. The session Durable Object is the source of
 * truth for a session; the `sessions` and `session_events` tables are its projection.
 * Times are Unix milliseconds; money is a decimal string ("12.25").
 */

import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const tenants = sqliteTable(
  "tenants",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    status: text("status", { enum: ["active", "disabled"] }).notNull().default("active"),
    sparkBaseUrl: text("spark_base_url").notNull(),
    sparkTokenId: integer("spark_token_id").notNull(),
    sparkIntegratorId: text("spark_integrator_id").notNull(),
    /** AES-256-GCM sealed `{secretToken, signKey}` under ENCRYPTION_KEY. */
    sparkSecrets: text("spark_secrets").notNull(),
    defaultPreAuthAmount: text("default_pre_auth_amount").notNull().default("50.00"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("tenants_spark_token_id").on(t.sparkTokenId)],
);

/** API keys and Spark callback secrets, as SHA-256 hashes; a rotated one lives on until `expiresAt`. */
export const credentials = sqliteTable(
  "credentials",
  {
    hash: text("hash").primaryKey(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    kind: text("kind", { enum: ["api_key", "spark_callback"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at"),
  },
  (t) => [index("credentials_tenant").on(t.tenantId, t.kind)],
);

export const siteClaims = sqliteTable("site_claims", {
  siteId: integer("site_id").primaryKey(),
  tenantId: text("tenant_id").notNull().references(() => tenants.id),
  createdAt: integer("created_at").notNull(),
});

export const machineClaims = sqliteTable(
  "machine_claims",
  {
    siteId: integer("site_id").notNull(),
    machineId: integer("machine_id").notNull(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.siteId, t.machineId] }), index("machine_claims_tenant").on(t.tenantId)],
);

export const stations = sqliteTable(
  "stations",
  {
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    machineId: integer("machine_id").notNull(),
    serviceStationNumber: text("service_station_number").notNull(),
    availability: text("availability", { enum: ["available", "busy", "out_of_service"] }).notNull(),
    display: text("display"),
    preAuthAmount: text("pre_auth_amount"),
    /** Optional mapping to an OCPI EVSE (CONTRACT §7.5), ids as the tenant wrote them; null when unmapped. */
    ocpiLocationId: text("ocpi_location_id"),
    ocpiEvseUid: text("ocpi_evse_uid"),
    ocpiConnectorId: text("ocpi_connector_id"),
    ocpiCountryCode: text("ocpi_country_code"),
    ocpiPartyId: text("ocpi_party_id"),
    updatedAt: integer("updated_at").notNull(),
  },
  // serviceStationNumber "" is the machine itself (single-point devices, CONTRACT §10).
  (t) => [primaryKey({ columns: [t.tenantId, t.machineId, t.serviceStationNumber] })],
);

export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    flow: text("flow", { enum: ["device_start", "remote_start"] }).notNull(),
    status: text("status").notNull(),
    nayaxTransactionId: integer("nayax_transaction_id"),
    siteId: integer("site_id"),
    machineId: integer("machine_id"),
    hwSerial: text("hw_serial"),
    serviceStationNumber: text("service_station_number"),
    authorizedAmount: text("authorized_amount"),
    settledAmount: text("settled_amount"),
    currency: text("currency"),
    cardLast4: text("card_last4"),
    cardHash: text("card_hash"),
    /** Set when an authorized session has waited past the settlement window. */
    overdue: integer("overdue", { mode: "boolean" }).notNull().default(false),
    lastSequence: integer("last_sequence").notNull(),
    /** The whole session object as the API shows it. */
    snapshot: text("snapshot").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("sessions_tenant_created").on(t.tenantId, t.createdAt, t.id),
    index("sessions_tenant_status_created").on(t.tenantId, t.status, t.createdAt),
    index("sessions_tenant_site_created").on(t.tenantId, t.siteId, t.createdAt),
    index("sessions_tenant_nayax").on(t.tenantId, t.nayaxTransactionId),
    index("sessions_card_match").on(t.tenantId, t.machineId, t.cardHash, t.status),
  ],
);

export const sessionEvents = sqliteTable(
  "session_events",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    sessionId: text("session_id"),
    sequence: integer("sequence"),
    type: text("type").notNull(),
    /** The webhook body, exactly as signed and sent. */
    body: text("body").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("session_events_session_sequence").on(t.sessionId, t.sequence),
    index("session_events_tenant_created").on(t.tenantId, t.createdAt, t.id),
    index("session_events_tenant_type").on(t.tenantId, t.type, t.createdAt),
  ],
);

export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    url: text("url").notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    disabledReason: text("disabled_reason"),
    /** JSON array of event types; null means every type. */
    eventTypes: text("event_types"),
    /**
     * Extra request headers the tenant asked for (never the signature headers): AES-256-GCM sealed
     * JSON object under ENCRYPTION_KEY, since they often carry credentials. Rows written before
     * sealing hold the plain JSON object and are still read.
     */
    headers: text("headers"),
    /** AES-256-GCM sealed JSON `[{secret, expiresAt|null}]`: the signing secrets, newest first. */
    secrets: text("secrets").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("webhook_endpoints_tenant").on(t.tenantId)],
);

/**
 * The rows recover looks for: failed, skipped or still pending. Written out as a literal (not bound
 * parameters) in queries too, so SQLite can use the partial index that holds only these rows.
 */
export const UNDELIVERED = sql.raw("state IN ('failed', 'skipped', 'pending')");

/**
 * Where each event stands for each endpoint it is meant for: pending (not yet through, or
 * retrying), delivered, failed (given up) or skipped (endpoint disabled). Written by the
 * session object (through its outbox) after each attempt; `webhook.test` events have no session.
 */
export const deliveries = sqliteTable(
  "deliveries",
  {
    eventId: text("event_id").notNull(),
    endpointId: text("endpoint_id").notNull(),
    tenantId: text("tenant_id").notNull(),
    sessionId: text("session_id"),
    sequence: integer("sequence"),
    state: text("state", { enum: ["pending", "delivered", "failed", "skipped"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    lastAttemptAt: integer("last_attempt_at"),
    /** When the next attempt is due; null when none is scheduled. */
    nextAttemptAt: integer("next_attempt_at"),
    eventCreatedAt: integer("event_created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.eventId, t.endpointId] }),
    index("deliveries_endpoint_state_created").on(t.endpointId, t.state, t.eventCreatedAt, t.eventId),
    index("deliveries_tenant_state_created").on(t.tenantId, t.state, t.eventCreatedAt, t.eventId),
    // Recover pages through one endpoint's undelivered events by session, in sequence order.
    index("deliveries_endpoint_undelivered")
      .on(t.endpointId, t.sessionId, t.sequence)
      .where(UNDELIVERED),
  ],
);

export const deliveryAttempts = sqliteTable(
  "delivery_attempts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    eventId: text("event_id").notNull(),
    endpointId: text("endpoint_id").notNull(),
    tenantId: text("tenant_id").notNull(),
    attemptedAt: integer("attempted_at").notNull(),
    status: integer("status"),
    error: text("error"),
    durationMs: integer("duration_ms").notNull(),
    responseExcerpt: text("response_excerpt"),
    /** What caused it: the delivery schedule (the first attempt included), a redeliver, or a recover. */
    trigger: text("trigger", { enum: ["scheduled", "manual", "recover"] }).notNull().default("scheduled"),
    /** When the next attempt of this delivery was due after this one; null when none was. */
    nextAttemptAt: integer("next_attempt_at"),
    /** 1 for a 2xx answer, else 0; computed, so rows from before it existed are counted right. */
    ok: integer("ok").generatedAlwaysAs(sql`coalesce(status between 200 and 299, 0)`, { mode: "virtual" }),
  },
  (t) => [
    index("delivery_attempts_event").on(t.eventId, t.attemptedAt),
    index("delivery_attempts_attempted").on(t.attemptedAt),
    // Endpoint health: the last success and failure, and the last day's counts of each.
    index("delivery_attempts_endpoint_ok").on(t.endpointId, t.ok, t.attemptedAt),
  ],
);


/** A tenant's decision endpoint (CONTRACT §5): asked for every Device Start authorization. */
export const decisionEndpoints = sqliteTable("decision_endpoints", {
  tenantId: text("tenant_id").primaryKey().references(() => tenants.id),
  url: text("url").notNull(),
  fallback: text("fallback", { enum: ["approve", "decline"] }).notNull(),
  /** AES-256-GCM sealed JSON `[{secret, expiresAt|null}]`: the signing secrets, newest first. */
  secrets: text("secrets").notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** One-time portal sign-in links minted by the operator; only the token's SHA-256 hash is kept. */
export const portalLinks = sqliteTable(
  "portal_links",
  {
    hash: text("hash").primaryKey(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    /** Set when the link was used: a link signs in once. */
    usedAt: integer("used_at"),
  },
  (t) => [index("portal_links_expires").on(t.expiresAt)],
);

/** Signed-in portal browsers: the cookie's SHA-256 hash, so sessions can expire and be signed out. */
export const portalSessions = sqliteTable(
  "portal_sessions",
  {
    hash: text("hash").primaryKey(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("portal_sessions_expires").on(t.expiresAt)],
);

/*
 * OCPI (CONTRACT §7): one connection per tenant, the credentials tokens, and what the CPO pushed.
 * CPO objects are kept as the JSON the CPO sent (numbers as written); the key columns hold ids
 * and parties upper-cased, because OCPI ids are matched case-insensitively.
 */

/** A tenant's OCPI connection; no row (or status `none`) means not connected. */
export const ocpiConnections = sqliteTable("ocpi_connections", {
  tenantId: text("tenant_id").primaryKey().references(() => tenants.id),
  status: text("status", { enum: ["none", "invited", "connected"] }).notNull(),
  version: text("version", { enum: ["2.1.1", "2.2.1"] }),
  initiatedBy: text("initiated_by", { enum: ["gateway", "cpo"] }),
  /** Forced form of the token the gateway sends; null means by version. */
  tokenEncoding: text("token_encoding", { enum: ["base64", "plain"] }),
  cpoVersionsUrl: text("cpo_versions_url"),
  /** AES-256-GCM sealed: the token the gateway presents to the CPO. */
  cpoToken: text("cpo_token"),
  /** JSON `[{identifier, role, url}]` of the CPO's version details. */
  cpoEndpoints: text("cpo_endpoints"),
  /** JSON `[{countryCode, partyId, role, name}]` from the CPO's credentials. */
  cpoParties: text("cpo_parties"),
  /** JSON `[{countryCode, partyId}]` the tenant declared besides the CPO's own. */
  additionalParties: text("additional_parties").notNull().default("[]"),
  /** JSON `{locations, tariffs}` outcome of the last pulls. */
  lastSync: text("last_sync"),
  invitedAt: integer("invited_at"),
  registeredAt: integer("registered_at"),
  /** A registration, rotation or unregistration holds the connection until this time (ms). */
  lockedUntil: integer("locked_until"),
  /** JSON outcome of the last DELETE sent to the CPO when unregistering. */
  lastUnregister: text("last_unregister"),
  updatedAt: integer("updated_at").notNull(),
});

/** The gateway's own credentials tokens, as SHA-256 hashes. */
export const ocpiTokens = sqliteTable(
  "ocpi_tokens",
  {
    hash: text("hash").primaryKey(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    /** `invitation`: Token A; `pending`: minted while a registration or rotation is open; `connection`: in use. */
    kind: text("kind", { enum: ["invitation", "pending", "connection"] }).notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("ocpi_tokens_tenant").on(t.tenantId, t.kind)],
);

/** Per-tenant amount settings (CONTRACT §7.7), decimal strings. */
export const ocpiSettings = sqliteTable("ocpi_settings", {
  tenantId: text("tenant_id").primaryKey().references(() => tenants.id),
  retailFactor: text("retail_factor").notNull(),
  vatPercent: text("vat_percent").notNull(),
  currency: text("currency"),
  updatedAt: integer("updated_at").notNull(),
});

export const ocpiLocations = sqliteTable(
  "ocpi_locations",
  {
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    countryCode: text("country_code").notNull(),
    partyId: text("party_id").notNull(),
    locationKey: text("location_key").notNull(),
    version: text("version").notNull(),
    /** The Location as the CPO sent it, PATCHes merged. */
    object: text("object").notNull(),
    /** `last_updated` in a sortable canonical form. */
    lastUpdated: text("last_updated").notNull(),
    /** A new random value at every write: concurrent read-modify-writes of one object detect each other. */
    revision: text("revision").notNull().default(""),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.countryCode, t.partyId, t.locationKey] })],
);

/** Each EVSE's status, beside its Location, so a station lookup is one indexed join. */
export const ocpiEvses = sqliteTable(
  "ocpi_evses",
  {
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    countryCode: text("country_code").notNull(),
    partyId: text("party_id").notNull(),
    locationKey: text("location_key").notNull(),
    evseKey: text("evse_key").notNull(),
    status: text("status").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.countryCode, t.partyId, t.locationKey, t.evseKey] }),
    index("ocpi_evses_lookup").on(t.tenantId, t.locationKey, t.evseKey),
  ],
);

export const ocpiTariffs = sqliteTable(
  "ocpi_tariffs",
  {
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    countryCode: text("country_code").notNull(),
    partyId: text("party_id").notNull(),
    tariffKey: text("tariff_key").notNull(),
    version: text("version").notNull(),
    object: text("object").notNull(),
    lastUpdated: text("last_updated").notNull(),
    revision: text("revision").notNull().default(""),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.countryCode, t.partyId, t.tariffKey] })],
);

/** The CPO's Sessions; `gatewaySessionId` links one to the payment session it belongs to. */
export const ocpiSessions = sqliteTable(
  "ocpi_sessions",
  {
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    countryCode: text("country_code").notNull(),
    partyId: text("party_id").notNull(),
    sessionKey: text("session_key").notNull(),
    version: text("version").notNull(),
    object: text("object").notNull(),
    /** `last_updated` canonical, or null for a 2.1.1 Session that never carried one. */
    lastUpdated: text("last_updated"),
    gatewaySessionId: text("gateway_session_id"),
    revision: text("revision").notNull().default(""),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.countryCode, t.partyId, t.sessionKey] }), index("ocpi_sessions_gateway").on(t.tenantId, t.gatewaySessionId)],
);

/** CDRs exactly as received; `ref` is the opaque id in the gateway's `Location` URL. */
export const ocpiCdrs = sqliteTable(
  "ocpi_cdrs",
  {
    ref: text("ref").primaryKey(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    version: text("version").notNull(),
    countryCode: text("country_code").notNull(),
    partyId: text("party_id").notNull(),
    cdrKey: text("cdr_key").notNull(),
    object: text("object").notNull(),
    gatewaySessionId: text("gateway_session_id"),
    receivedAt: integer("received_at").notNull(),
  },
  (t) => [uniqueIndex("ocpi_cdrs_identity").on(t.tenantId, t.countryCode, t.partyId, t.cdrKey), index("ocpi_cdrs_gateway").on(t.tenantId, t.gatewaySessionId)],
);

/** Commands the gateway sent, found again by the id in their `response_url`. */
export const ocpiCommands = sqliteTable(
  "ocpi_commands",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    version: text("version").notNull(),
    kind: text("kind", { enum: ["START_SESSION", "STOP_SESSION"] }).notNull(),
    gatewaySessionId: text("gateway_session_id").notNull(),
    /** The CPO party the command went to (answers carry it back in routing headers). */
    toCountryCode: text("to_country_code"),
    toPartyId: text("to_party_id"),
    result: text("result"),
    message: text("message"),
    resultAt: integer("result_at"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("ocpi_commands_session").on(t.tenantId, t.gatewaySessionId)],
);

/** Every token uid the gateway minted, never reused, and the session it was minted for. */
export const ocpiTokenUids = sqliteTable(
  "ocpi_token_uids",
  {
    uid: text("uid").primaryKey(),
    tenantId: text("tenant_id").notNull().references(() => tenants.id),
    gatewaySessionId: text("gateway_session_id").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("ocpi_token_uids_session").on(t.tenantId, t.gatewaySessionId)],
);
