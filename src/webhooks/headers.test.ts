import { describe, expect, it } from "vitest";
import { Sealer } from "../lib/crypto";
import { MASK, maskHeaders, openHeaders, sealHeaders } from "./headers";

const sealer = new Sealer("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=");

describe("custom webhook headers", () => {
  it("masks every value, keeping only the scheme of a credential header", () => {
    expect(
      maskHeaders({ Authorization: "Bearer abc.def", "proxy-authorization": "Basic dXNlcg==", "X-Api-Key": "k-1", "X-Note": "hello world", AUTHORIZATION: "tokenonly" }),
    ).toEqual({ Authorization: "Bearer ****", "proxy-authorization": "Basic ****", "X-Api-Key": MASK, "X-Note": MASK, AUTHORIZATION: MASK });
  });

  it("seals and opens them, reads the plain JSON of rows from before sealing, and stores nothing for none", async () => {
    const headers = { Authorization: "Bearer secret-value" };
    const sealed = await sealHeaders(sealer, headers);
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain("secret-value");
    expect(await openHeaders(sealer, sealed)).toEqual(headers);
    expect(await openHeaders(sealer, JSON.stringify(headers))).toEqual(headers);
    expect(await sealHeaders(sealer, {})).toBeNull();
    expect(await sealHeaders(sealer, undefined)).toBeNull();
    expect(await openHeaders(sealer, null)).toEqual({});
  });
});
