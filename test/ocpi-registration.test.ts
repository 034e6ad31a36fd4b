/** OCPI registration both ways, credentials module, rotation, unregistration (CONTRACT §7.3). */
import { describe, expect, it } from "vitest";
import { onboard } from "./helpers";
import { GATEWAY, api, connect, envelopeOf, gateway, newCpo, waitForSync } from "./ocpi-support";

describe("gateway-initiated registration", () => {
  it("registers on 2.2.1 and answers the connection without tokens", async () => {
    const tenant = await onboard({ siteIds: [920_001] });
    const sim = newCpo();
    const offer = sim.offerTokenA();
    const res = await api(tenant.apiKey, "/v1/ocpi/connection", { method: "POST", json: { versionsUrl: offer.versionsUrl, token: offer.token } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ status: "connected", version: "2.2.1", initiatedBy: "gateway", tokenEncoding: null });
    expect(JSON.stringify(res.body)).not.toContain(offer.token);
    expect(JSON.stringify(res.body)).not.toContain(sim.acceptedToken!);
    expect(sim.violations).toEqual([]);
    await waitForSync(tenant.apiKey);
  });
});
