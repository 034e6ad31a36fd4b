/** The seed payloads from Nayax's documentation, exactly as published (seeds 001–003). */

export const SEED_SESSION_ID = "12c7cec2-c690-4425-9a1f-db0db60e2d8c";
export const SEED_CARD_HASH = "7f2082ba5dbccf706b6987e75b62083f65b5695bc2d8c827c3e46769d007a9e6";

/** seed 001: TransactionNotify request. `Amount` is written `10.00` in the source text. */
export const transactionNotifyText = `{
  "HwSerial": "0434334921100366",
  "MachineId": 71234996,
  "NayaxTransactionId": 2004545072,
  "SparkTransactionId": "12c7cec2-c690-4425-9a1f-db0db60e2d8c",
  "Amount": 10.00,
  "CardLast4Digits": "1234",
  "CardHash": "7f2082ba5dbccf706b6987e75b62083f65b5695bc2d8c827c3e46769d007a9e6",
  "CardUid": "1288528281124927",
  "ServiceStationNumber": "5",
  "SiteId": 2,
  "MachineAuTime": "20240205194122328"
}`;

/** seed 001: the documented answer. */
export const transactionNotifyAnswer = {
  NayaxTransactionId: 2004545072,
  SparkTransactionId: "12c7cec2-c690-4425-9a1f-db0db60e2d8c",
  HwSerial: "0434334921100366",
  MachineId: 71234996,
  SiteId: 2,
  ServiceStationNumber: "5",
  Status: { Verdict: "Approved", StatusMessage: "Session will begin immediately." },
};

/** seed 002: StopCallback request. */
export const stopCallback = {
  StopSiteId: 4,
  MachineId: 71234996,
  HwSerial: "0434334921100366",
  CardLast4Digits: "1234",
  CardHash: "7f2082ba5dbccf706b6987e75b62083f65b5695bc2d8c827c3e46769d007a9e6",
  SparkTransactionId: "12c7cec2-c690-4425-9a1f-db0db60e2d8c",
  NayaxTransactionId: 2004545072,
  CardUid: "1288528281124927",
  MachineAuTime: "20240205194122328",
  ServiceStationNumber: "5",
};

/** seed 002: the documented answer. */
export const stopCallbackAnswer = {
  Status: { Verdict: "Approved", ErrorDescription: "No Errors" },
  SparkTransactionId: "12c7cec2-c690-4425-9a1f-db0db60e2d8c",
  ServiceStationNumber: "5",
};

/** The TransactionNotify seed as an object, with overrides. */
export function transactionNotify(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...(JSON.parse(transactionNotifyText) as Record<string, unknown>), ...overrides };
}

/** The contract's onboarding example (§3). */
export const tenantInput = {
  name: "Acme Charging",
  siteIds: [2, 4],
  spark: {
    baseUrl: "https://spark-qa.example/api",
    tokenId: 116383,
    secretToken: "mrV3U3nsgGFrE3w5-wnBo_WCLPce-pZ1awRvTVTkungMIKThTVbj_fiXdfoGclhn0",
    integratorId: "927",
    signKey: "RbtdDsiVNjkAeRty",
  },
  webhookUrl: "https://csms.example/hooks/spark",
};
