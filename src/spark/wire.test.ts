import { describe, expect, it } from "vitest";
import type { SessionRecord } from "../sessions/model";
import { ackAnswer, infoQueryAnswer, stopCallbackAnswer, stopNotifyAnswer, transactionNotifyAnswer } from "./answers";
import { SparkClient } from "./client";
import { parseSparkJson, sparkJson } from "./json";
import {
  AckAnswer,
  CancelTransactionRequest,
  InfoQueryAnswer,
  SettlementRequest,
  StartAuthenticationRequest,
  StopCallbackAnswer,
  StopNotifyAnswer,
  TransactionNotifyAnswer,
  TriggerTransactionRequest,
} from "./messages";

const session = {
  id: "12c7cec2-c690-4425-9a1f-db0db60e2d8c",
  nayaxTransactionId: 2004545072,
  siteId: 2,
  machineId: 71234996,
  hwSerial: "0434334921100366",
  serviceStationNumber: "5",
  machineAuTime: "20240205194122328",
} as SessionRecord;

/** What Spark receives: our answer serialized, then read back as Spark would. */
const onTheWire = (value: object) => parseSparkJson(sparkJson(value));

describe("what the gateway sends to Spark matches the schemas", () => {
  it("answers to callbacks", () => {
    expect(TransactionNotifyAnswer.parse(onTheWire(transactionNotifyAnswer(session, true, "Session will begin immediately.")))).toMatchObject({ SiteId: 2 });
    expect(StopCallbackAnswer.parse(onTheWire(stopCallbackAnswer(session, false, "No open session matches this card"))).Status.Verdict).toBe("Declined");
    expect(StopNotifyAnswer.parse(onTheWire(stopNotifyAnswer({ stopSiteId: 4, machineId: 71234996, hwSerial: "x" }, session, true, ""))).MachineAuTime).toBe("20240205194122328");
    expect(AckAnswer.parse(onTheWire(ackAnswer(session.id))).Status.Verdict).toBe("Approved");
    const info = infoQueryAnswer(
      { sparkTransactionId: null, hwSerial: "h", machineId: 1, serviceStationNumber: "5", siteId: 2 },
      { availability: "busy", display: ";A:1;", amount: "10.30" },
    );
    expect(sparkJson(info)).toContain('"Amount":10.3,');
    expect(InfoQueryAnswer.parse(onTheWire(info))).toMatchObject({ ServiceStationAvailability: 2, Amount: "10.3" });
  });

  it("requests, as the client sends them", async () => {
    const bodies = new Map<string, unknown>();
    const client = new SparkClient(
      { baseUrl: "https://spark.test/api", tokenId: 1, secretToken: "mrV3U3nsgGFrE3w5-wnBo_WCLPce-pZ1awRvTVTkungMIKThTVbj_fiXdfoGclhn0", integratorId: "927", signKey: "k" },
      {
        fetcher: async (input, init) => {
          const method = String(input).split("/").pop()!;
          const body = parseSparkJson(String(init?.body)) as { SparkTransactionId: string };
          bodies.set(method, body);
          const hash = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body.SparkTransactionId)))].map((b) => b.toString(16).padStart(2, "0")).join("");
          return Response.json({ SparkTransactionId: body.SparkTransactionId, HashedSparkTransactionId: hash, Status: { Verdict: "Approved", ErrorDescription: "No Errors" } });
        },
      },
    );
    const id = session.id;
    await client.startAuthentication({ sparkTransactionId: id, terminal: { hwSerial: "0434334921100366" } });
    await client.triggerTransaction({ sparkTransactionId: id, terminal: { machineId: 71234996 }, amount: 1500n, timeoutSeconds: 60, display: ";A:1;" });
    await client.settle({ sparkTransactionId: id, nayaxTransactionId: 2004545072, siteId: 2, terminal: { hwSerial: "0434334921100366" }, amount: 30n, receipt: { General: [] } });
    await client.cancel({ sparkTransactionId: id, nayaxTransactionId: 2004545072, siteId: 2, terminal: { hwSerial: "0434334921100366" }, machineAuTime: "20240205194122328", type: 1, amount: 1000n, reasonCode: 101 });
    expect(StartAuthenticationRequest.parse(bodies.get("StartAuthentication")).TerminalIdType).toBe(1);
    expect(TriggerTransactionRequest.parse(bodies.get("TriggerTransaction"))).toMatchObject({ TerminalIdType: 2, Amount: "15", TransactionTimeout: 60 });
    expect(SettlementRequest.parse(bodies.get("Settlement"))).toMatchObject({ Amount: "0.3", EReceiptData: '{"General":[]}' });
    expect(CancelTransactionRequest.parse(bodies.get("CancelTransaction"))).toMatchObject({ CancellationType: 1, CancelAmount: "10" });
    expect(() => SettlementRequest.parse({ ...(bodies.get("Settlement") as object), TerminalIdType: 3 })).toThrow();
  });
});
