import { describe, expect, it } from "vitest";
import { onboard, tenantCall } from "./helpers";

describe("tenant API rate limit", () => {
  it("answers 429 with Retry-After once a tenant exceeds its budget, and never limits another tenant", async () => {
    const busy = await onboard({ siteIds: [91] });
    const quiet = await onboard({ siteIds: [92] });
    const statuses: number[] = [];
    let limited: Response | null = null;
    // 300 requests per 10 s per tenant (wrangler.toml): 340 in a burst must overflow it.
    for (let batch = 0; batch < 17; batch++) {
      const answers = await Promise.all(Array.from({ length: 20 }, () => tenantCall(busy.apiKey, "/v1/sessions?limit=1")));
      for (const res of answers) {
        statuses.push(res.status);
        if (res.status === 429 && !limited) limited = res;
      }
    }
    // The local limiter counts approximately, like the real one; the budget is not exact.
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(100);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(limited).not.toBeNull();
    expect(limited!.headers.get("Retry-After")).toBe("10");
    expect(limited!.headers.get("X-Request-Id")).toBeTruthy();
    expect(await limited!.json()).toMatchObject({ error: { code: "rate_limited" } });

    const other = await tenantCall(quiet.apiKey, "/v1/sessions?limit=1");
    expect(other.status).toBe(200);
  });
});
