/**
 * Spark's response codes (`Status.ErrorCode`), for logs and error messages.
 *
 * Nayax publishes two incompatible lists (spark-api.md §2.1 vs §2.15): the global "Response
 * Codes" table, and a StartAuthentication-specific one in which 28, 30, 31 and 34 mean other
 * things. Until Nayax says which is current, log the raw code and description and do not branch
 * on StartAuthentication codes.
 */

/** Named codes of the global table (§2.15). */
export const SparkCode = {
  MachineHasNoDevice: 20,
  DeviceNotConnectedToMqttServer: 21,
  MissingDeviceIp: 22,
  IpIsNonVpn: 23,
  MachineNotResponding: 24,
  UnknownMachineId: 25,
  ValidationError: 26,
  UnknownTransactionId: 27,
  AlreadyCancelled: 28,
  NotAllowedToWakeDevice: 29,
  SparkIntegratorNotActive: 30,
  CancellationFailed: 31,
  TransactionNotFoundOrOld: 32,
  FailToAuthenticate: 33,
  MissingAmount: 34,
  SettlementFailed: 35,
  SiteIdNotFound: 36,
  AuthorizationFailed: 37,
  TransactionCallbackFailed: 38,
  TimeoutCallbackFailed: 40,
  TimeoutOnPosDevice: 44,
  CancelledOnPosDevice: 45,
  DeferredSettlementFailed: 50,
  DeferredCancelFailed: 51,
  NoSupportForDeferredSettlementOrCancel: 52,
  NayaxTimeOutError: 992,
  NayaxValidationError: 997,
  NayaxGeneralError: 999,
} as const;

/** Named codes of the StartAuthentication reference page (§2.1), which reuses numbers of the global table. */
export const StartAuthenticationCode = {
  InvalidToken: 28,
  ValidationFailed: 30,
  ExpiredRequest: 31,
  DecryptionFailure: 34,
} as const;

/** Global table (§2.15): code → meaning. */
export const SPARK_CODES: ReadonlyMap<number, string> = new Map([
  [20, "Machine Has No Device"],
  [21, "Device Not Connected to MQTT Server"],
  [22, "Missing Device IP"],
  [23, "IP Is Non-VPN"],
  [24, "Machine Not Responding"],
  [25, "Unknown Machine ID"],
  [26, "Validation Error"],
  [27, "Unknown Transaction ID"],
  [28, "Already Cancelled"],
  [29, "Not Allowed to Wake Device"],
  [30, "Spark Integrator Not Active"],
  [31, "Cancellation Failed"],
  [32, "Transaction Not Found or Old"],
  [33, "Fail To Authenticate"],
  [34, "Missing Amount"],
  [35, "Settlement Failed"],
  [36, "Site ID Not Found"],
  [37, "Authorization Failed"],
  [38, "Transaction Callback Failed"],
  [40, "Timeout Callback Failed"],
  [44, "Timeout on POS Device"],
  [45, "Cancelled on POS Device"],
  [50, "Deferred Settlement Failed"],
  [51, "Deferred Cancel Failed"],
  [52, "No Support for Deferred Settlement/Cancel"],
  [992, "Nayax Time Out Error"],
  [997, "Nayax Validation Error"],
  [999, "Nayax General Error"],
]);

/** StartAuthentication reference (§2.1): code → meaning. */
export const START_AUTHENTICATION_CODES: ReadonlyMap<number, string> = new Map([
  [28, "Invalid Token"],
  [30, "Validation Failed"],
  [31, "Expired Request"],
  [34, "Decryption Failure"],
]);

/**
 * A human-readable meaning of a Spark code. For StartAuthentication the method-specific meaning
 * comes first and the global one follows in parentheses, because nobody knows which applies.
 * Unknown codes are named as such rather than guessed.
 */
export function describeSparkCode(code: number | null | undefined, method?: string): string {
  if (code === null || code === undefined) return "no error code";
  const global = SPARK_CODES.get(code);
  const specific = method === "StartAuthentication" ? START_AUTHENTICATION_CODES.get(code) : undefined;
  if (specific !== undefined && global !== undefined && specific !== global) return `${specific} (global table: ${global})`;
  return specific ?? global ?? `Unknown Spark code ${code}`;
}
