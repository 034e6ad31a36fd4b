/**
 * Every Spark message, in both directions, as zod schemas in Spark's own PascalCase.
 * Unknown extra fields are tolerated (zod strips them). Nothing outside `src/spark/`
 * sees these shapes: {@link ./inbound.ts} turns them into the gateway's own commands.
 */
import { z } from "zod";
import { isMissing } from "../lib/issues";
import { MINOR_DIGITS, parseMoney } from "../lib/money";
import { parseDeviceTime } from "./time";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A SparkTransactionId: a 36-character GUID with hyphens, normalised to lower case. */
export const SparkTransactionId = z
  .string()
  .regex(GUID, "must be a 36-character GUID")
  .transform((s) => s.toLowerCase());

/** An integer id (SiteId, MachineId, NayaxTransactionId, TokenId). */
const Id = z.int().nonnegative();

/** Device time `yyyyMMddHHmmssSSS`, read into `YYYY-MM-DDTHH:mm:ss.SSS` (local, no zone). */
export const DeviceTime = z.string().transform((text, ctx) => {
  const parsed = parseDeviceTime(text);
  if (parsed === null) {
    ctx.addIssue({ code: "custom", message: "must be yyyyMMddHHmmssSSS" });
    return z.NEVER;
  }
  return parsed;
});

/**
 * A major-unit amount as Spark sends it: a JSON number (kept as its source text by
 * `parseSparkJson`) or, leniently, a decimal string. Read into `"10.00"` form.
 */
export const MajorAmount = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const parsed = parseMoney(String(value));
  if (!parsed.ok) {
    ctx.addIssue({ code: "custom", message: `must be a non-negative decimal with at most ${MINOR_DIGITS} decimals` });
    return z.NEVER;
  }
  return parsed.value;
});

/**
 * A minor-unit amount (TransactionCallback only): `1500` is 15.00. It reaches the schema as
 * source text (`parseSparkJson` keeps every `Amount` exact), or as a number when built in code.
 */
export const MinorAmount = z
  .union([z.int().nonnegative(), z.string().regex(/^\d{1,15}$/, "must be a whole number of minor units")])
  .transform((n) => BigInt(n));

/** Spark's common `Status` object. ErrorDescription sometimes arrives padded (" No Errors "). */
export const Status = z.object({
  Verdict: z.string(),
  ErrorCode: z.int().nullish(),
  ErrorDescription: z.string().nullish().transform((s) => s?.trim() ?? null),
  StatusMessage: z.string().nullish(),
});
export type Status = z.output<typeof Status>;

// ---------------------------------------------------------------- Spark → gateway

/** Device Start: a card was authorized at the terminal (seed 001). */
export const TransactionNotify = z.object({
  HwSerial: z.string(),
  MachineId: Id,
  NayaxTransactionId: Id,
  SparkTransactionId,
  Amount: MajorAmount,
  CardLast4Digits: z.string(),
  CardHash: z.string().min(1),
  CardUid: z.string().nullish(),
  ServiceStationNumber: z.string().nullish(),
  SiteId: Id,
  MachineAuTime: DeviceTime,
});

/** A card was presented to stop; Spark did the matching (seed 002). Most fields are nullable. */
export const StopCallback = z.object({
  StopSiteId: Id,
  MachineId: Id,
  HwSerial: z.string(),
  CardLast4Digits: z.string().nullish(),
  /** Required (spark-api.md §2.11): the stop card must match the session's. */
  CardHash: z.string().min(1),
  SparkTransactionId: SparkTransactionId.nullish(),
  NayaxTransactionId: Id.nullish(),
  CardUid: z.string().nullish(),
  MachineAuTime: DeviceTime.nullish(),
  ServiceStationNumber: z.string().nullish(),
});

/** A card was presented to stop; the gateway does the matching. */
export const StopNotify = z.object({
  StopSiteId: Id,
  MachineId: Id,
  HwSerial: z.string(),
  CardLast4Digits: z.string().nullish(),
  CardHash: z.string().min(1),
  CardUid: z.string().nullish(),
  ServiceStationNumber: z.string().nullish(),
});

/** Remote Start authorization result. `Amount` is in minor units. */
export const TransactionCallback = z
  .object({
    NayaxTransactionId: Id.nullish(),
    SparkTransactionId,
    SiteId: Id.nullish(),
    TerminalId: z.string().nullish(),
    MachineId: Id,
    HwSerial: z.string(),
    AuthStatus: Status,
    CardLast4Digits: z.string().nullish(),
    CardHash: z.string().nullish(),
    CardUid: z.string().nullish(),
    MachineAuTime: DeviceTime.nullish(),
    Amount: MinorAmount.nullish(),
    CardBrand: z.string().nullish(),
    CardFirst6Digits: z.string().nullish(),
    AuthCode: z.string().nullish(),
    AuTime: z.string().nullish(),
    CurrencyCode: z.string().nullish(),
    CurrencyNumeric: z.string().nullish(),
    FiscalRrn: z.string().nullish(),
    NayaxRRN: z.string().nullish(),
  })
  .superRefine((msg, ctx) => {
    // An approval must carry what settlement needs; a decline may come without them.
    if (msg.AuthStatus.Verdict.trim() !== "Approved") return;
    for (const field of ["NayaxTransactionId", "SiteId", "Amount"] as const) {
      if (msg[field] === null || msg[field] === undefined) {
        ctx.addIssue({ code: "custom", path: [field], message: "is required when AuthStatus.Verdict is Approved" });
      }
    }
  });

/** Remote Start ended before authorization: 44 timeout, 45 cancelled, 38 callback failed. */
export const DeclineCallback = z.object({
  MachineId: Id.nullish(),
  HwSerial: z.string().nullish(),
  SparkTransactionId,
  Status: Status.extend({ ErrorCode: z.int() }),
});

/** A pre-authorized session expired on Spark's side; final. */
export const TimeoutCallback = z.object({
  TerminalId: z.string().nullish(),
  MachineId: Id.nullish(),
  HwSerial: z.string().nullish(),
  SparkTransactionId,
});

/** Device Start handshake. */
export const StartSession = z.object({
  HwSerial: z.string(),
  MachineId: Id,
  TokenId: Id,
  /** Echoed inside the cipher at positions 38–54: exactly 17 characters, none of them "=". */
  Random: z.string().regex(/^[^=]{17}$/, 'must be 17 characters without "="'),
});

/** Station availability query (Device Start). `ServiceStationNumber` is absent on single-point devices. */
export const InfoQuery = z.object({
  HwSerial: z.string(),
  MachineId: Id,
  SparkTransactionId: SparkTransactionId.nullish(),
  ServiceStationNumber: z.string().nullish(),
  SiteId: Id,
});

/** As InfoQuery, with the estimated amount. */
export const AvailabilityCheck = InfoQuery.extend({ Amount: MajorAmount.nullish() });

/** The inbound methods and their schemas. */
export const inboundSchemas = {
  TransactionNotify,
  StopCallback,
  StopNotify,
  TransactionCallback,
  DeclineCallback,
  TimeoutCallback,
  StartSession,
  InfoQuery,
  AvailabilityCheck,
} as const;
export type InboundMethod = keyof typeof inboundSchemas;
export type Inbound<M extends InboundMethod> = z.output<(typeof inboundSchemas)[M]>;

// ---------------------------------------------------------------- gateway → Spark (answers)

/**
 * A money literal the gateway sends: a {@link JSON.rawJSON} value when built (so `0.30` goes out
 * as `0.3`, never as a float artifact), or its source text once parsed back with `parseSparkJson`.
 */
export const WireAmount = z.custom<unknown>(
  (value) => typeof value === "string" || typeof value === "number" || (typeof value === "object" && value !== null && JSON.isRawJSON(value)),
  "must be an exact money literal",
);

/** Spark-shaped status we send; `ErrorDescription` names what is wrong. */
export const StatusOut = z.object({
  Verdict: z.enum(["Approved", "Declined"]),
  StatusMessage: z.string().optional(),
  ErrorDescription: z.string().optional(),
  ErrorCode: z.int().optional(),
});
export type StatusOut = z.infer<typeof StatusOut>;

/** Answer to TransactionNotify (seed 001): the echo and the verdict. */
export const TransactionNotifyAnswer = z.object({
  NayaxTransactionId: z.int(),
  SparkTransactionId: z.string(),
  HwSerial: z.string(),
  MachineId: z.int(),
  SiteId: z.int(),
  ServiceStationNumber: z.string().nullable(),
  Status: StatusOut,
});
export type TransactionNotifyAnswer = z.infer<typeof TransactionNotifyAnswer>;

/** Answer to StopCallback (seed 002). */
export const StopCallbackAnswer = z.object({
  Status: StatusOut,
  SparkTransactionId: z.string().nullable(),
  ServiceStationNumber: z.string().nullable(),
});
export type StopCallbackAnswer = z.infer<typeof StopCallbackAnswer>;

/** Answer to StopNotify: the matched session's identifiers (spark-api.md §2.12). */
export const StopNotifyAnswer = z.object({
  SparkTransactionId: z.string().nullable(),
  NayaxTransactionId: z.int().nullable(),
  SiteId: z.int().nullable(),
  StopSiteId: z.int(),
  MachineId: z.int(),
  HwSerial: z.string(),
  MachineAuTime: z.string().nullable(),
  Status: StatusOut,
});
export type StopNotifyAnswer = z.infer<typeof StopNotifyAnswer>;

/** Answer to InfoQuery and AvailabilityCheck (spark-api.md §2.7). */
export const InfoQueryAnswer = z.object({
  SparkTransactionId: z.string().nullable(),
  HwSerial: z.string(),
  MachineId: z.int(),
  ServiceStationNumber: z.string().nullable(),
  SiteId: z.int(),
  ServiceStationAvailability: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  PosDisplay: z.string().optional(),
  Amount: WireAmount,
  Status: StatusOut,
});
export type InfoQueryAnswer = z.infer<typeof InfoQueryAnswer>;

/** Answer to StartSession: the cipher and the new session's id (spark-api.md §2.6). */
export const StartSessionAnswer = z.object({
  Cipher: z.string(),
  SparkTransactionId: z.string(),
  Status: StatusOut,
});
export type StartSessionAnswer = z.infer<typeof StartSessionAnswer>;

/** Answer to TransactionCallback, DeclineCallback and TimeoutCallback ("a simple 200 OK is sufficient"). */
export const AckAnswer = z.object({
  SparkTransactionId: z.string(),
  Status: StatusOut,
});
export type AckAnswer = z.infer<typeof AckAnswer>;

// ---------------------------------------------------------------- gateway → Spark (requests) and Spark's answers

/** Terminal addressing on gateway → Spark calls: 1 = HW serial, 2 = Nayax machine id. */
export const TerminalIdType = { HwSerial: 1, MachineId: 2 } as const;
const TerminalIdTypeSchema = z.union([z.literal(1), z.literal(2)]);

/** The terminal a gateway → Spark call addresses. */
const TerminalFields = {
  TerminalId: z.string().max(255),
  TerminalIdType: TerminalIdTypeSchema,
};

/** The authorized transaction every call that moves its money names (spark-api.md §2.9–2.14). */
const TransactionFields = {
  NayaxTransactionId: z.int(),
  SparkTransactionId: z.string().regex(GUID),
  SiteId: z.int(),
  ...TerminalFields,
};

/** `MachineAuTime` as the gateway sends it back: the device's `yyyyMMddHHmmssSSS`. */
const MachineAuTimeOut = z.string().regex(/^\d{17}$/);

/** What every answer to a money call carries. */
const MoneyAnswerFields = {
  SparkTransactionId: z.string().nullish(),
  Status,
  AuthCode: z.string().nullish(),
  MachineAuTime: z.string().nullish(),
};

/** What Settlement and CancelTransaction answers add about the card and the receipt. */
const CardAnswerFields = {
  ...MoneyAnswerFields,
  CardBrand: z.string().nullish(),
  CardLast4Digits: z.string().nullish(),
  AuTime: z.string().nullish(),
  CurrencyCode: z.string().nullish(),
  CurrencyNumeric: z.string().nullish(),
  FiscalRrn: z.string().nullish(),
  NayaxRRN: z.string().nullish(),
};

/** First call of Remote Start (spark-api.md §2.1); `SparkTransactionId` is required under authentication v2. */
export const StartAuthenticationRequest = z.object({
  TokenId: z.int(),
  ...TerminalFields,
  Random: z.string().length(17),
  Cipher: z.string().min(1),
  SparkTransactionId: z.string().regex(GUID),
});
export type StartAuthenticationRequest = z.infer<typeof StartAuthenticationRequest>;
export const StartAuthenticationResponse = z.object({
  HashedSparkTransactionId: z.string().nullish(),
  Status,
});

/** Wakes the terminal with the amount to hold (spark-api.md §2.2). */
export const TriggerTransactionRequest = z.object({
  SparkTransactionId: z.string().regex(GUID),
  ...TerminalFields,
  Amount: WireAmount,
  PosDisplay: z.string().optional(),
  TransactionTimeout: z.int().min(1).max(32_767),
});
export type TriggerTransactionRequest = z.infer<typeof TriggerTransactionRequest>;
export const TriggerTransactionResponse = z.object({
  SparkTransactionId: z.string().nullish(),
  Status,
});

/** The final amount of a pre-authorization (spark-api.md §2.9, seed 003). */
export const SettlementRequest = z.object({
  ...TransactionFields,
  Amount: WireAmount,
  EReceiptData: z.string().optional(),
});
export type SettlementRequest = z.infer<typeof SettlementRequest>;
export const SettlementResponse = z.object({
  ...CardAnswerFields,
  SeTime: z.string().nullish(),
  Amount: MajorAmount.nullish(),
});

/** Releases a hold (type 1) or voids a pre-selection (type 2) (spark-api.md §2.10). */
export const CancelTransactionRequest = z.object({
  ...TransactionFields,
  MachineAuTime: MachineAuTimeOut,
  CancellationType: z.union([z.literal(1), z.literal(2)]),
  CancelAmount: WireAmount,
  ReasonCode: z.int(),
  ReasonText: z.string().optional(),
});
export type CancelTransactionRequest = z.infer<typeof CancelTransactionRequest>;
export const CancelTransactionResponse = z.object({
  ...CardAnswerFields,
  CancelTime: z.string().nullish(),
});

/** A product line of an external settlement: `Value` is the unit price, an exact decimal (spark-api.md §2.13). */
export const ProductInfo = z.object({
  Value: WireAmount,
  Code: z.string().min(1),
  Quantity: WireAmount,
});

/** Settles a transaction authorized outside Spark's flows (spark-api.md §2.13). */
export const ExternalSettlementRequest = z.object({
  ...TransactionFields,
  MachineAuTime: MachineAuTimeOut,
  Amount: WireAmount,
  EReceiptData: z.string().optional(),
  ProductInfo: z.array(ProductInfo).optional(),
});
export type ExternalSettlementRequest = z.infer<typeof ExternalSettlementRequest>;
export const ExternalSettlementResponse = z.object({
  ...MoneyAnswerFields,
  Amount: MajorAmount.nullish(),
});

/** Releases a transaction authorized outside Spark's flows (spark-api.md §2.14): `ReasonCode` is a string here. */
export const ExternalCancelRequest = z.object({
  ...TransactionFields,
  MachineAuTime: MachineAuTimeOut,
  CancelAmount: WireAmount,
  ReasonCode: z.string().optional(),
  ReasonText: z.string().optional(),
});
export type ExternalCancelRequest = z.infer<typeof ExternalCancelRequest>;
export const ExternalCancelResponse = z.object(MoneyAnswerFields);

/** Turns zod issues into one line that names each offending field, for `ErrorDescription`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const field = issue.path.join(".") || "body";
      if (isMissing(issue)) return `${field}: is required`;
      return `${field}: ${issue.message}`;
    })
    .join("; ");
}

