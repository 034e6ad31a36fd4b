/** What the benchmarks send: TransactionNotify bodies for new sessions, over keep-alive connections. */
import { Agent, request as httpRequest } from "node:http";
import type { IncomingHttpHeaders } from "node:http";

/** A TransactionNotify for a new session: the seed example's values, `Amount` written as Spark writes it. */
export function notifyBody(o: { id: string; siteId: number; nayaxId: number; machineId: number }): string {
  return `{"HwSerial":"0434334921100366","MachineId":${o.machineId},"NayaxTransactionId":${o.nayaxId},"SparkTransactionId":"${o.id}","Amount":30.00,"CardLast4Digits":"1234","CardHash":"7f2082ba5dbccf706b6987e75b62083f65b5695bc2d8c827c3e46769d007a9e6","CardUid":"1288528281124927","ServiceStationNumber":"1","SiteId":${o.siteId},"MachineAuTime":"20240205194122328"}`;
}

export interface Answer {
  status: number;
  text: string;
  headers: IncomingHttpHeaders;
}

const newAgent = () => new Agent({ keepAlive: true, maxSockets: 256 });

/** Keep-alive connections, as Spark's and the load generator's clients would hold them. */
export class Connections {
  private agent = newAgent();

  /**
   * Closes the idle connections: between slices, because the other side closes idle ones itself
   * after a few seconds and a request racing that close is lost.
   */
  fresh(): void {
    this.agent.destroy();
    this.agent = newAgent();
  }

  /** A JSON POST; answers the status, body and headers. */
  post(url: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
    return new Promise((done, fail) => {
      const u = new URL(url);
      const req = httpRequest(
        { host: u.hostname, port: u.port, path: u.pathname, method: "POST", agent: this.agent, headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => done({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8"), headers: res.headers }));
        },
      );
      req.on("error", fail);
      req.end(body);
    });
  }
}
