/** The OCPI wire helpers: exact JSON, decimals, DateTimes, tokens, settings, Link headers. */
import { describe, expect, it } from "vitest";
import { nextLink, readEnvelope } from "./client";
import { ocpiSettingProblems, ocpiStartVars } from "./config";
import { dateTimeOrderKey, formatOcpiDateTime, isOcpiDateTime, normalizeOcpiDateTime } from "./datetime";
import { formatDecimal, normalizeDecimal, parseDecimal } from "./decimal";
import { exactJson, isRawNumber, parseExactJson } from "./json";
import { authorizationHeader, encodingFor, tokenCandidates } from "./token";

describe("exact JSON", () => {
  it("keeps every number as written through parse and serialize", () => {
    const text = '{"a":4.3240,"b":0.30000000000000004,"c":[1e2,-0.0,15.00],"d":"4.3240"}';
    const value = parseExactJson(text) as Record<string, unknown>;
    expect(isRawNumber(value.a)).toBe(true);
    expect(isRawNumber(value.d)).toBe(false);
    expect(exactJson(value)).toBe(text);
  });
});

describe("decimals", () => {
  it.each([
    ["4.3240", "4.324"],
    ["15.00", "15"],
    ["0.30000000000000004", "0.30000000000000004"],
    ["1E2", "100"],
    ["1.5e-3", "0.0015"],
    ["-0.0", "0"],
    ["-2.50", "-2.5"],
  ])("%s → %s", (text, normalized) => expect(normalizeDecimal(text)).toBe(normalized));

  it("refuses what is not a JSON number, and absurd exponents", () => {
    for (const text of ["", "1.", ".5", "01", "1e", "NaN", "1e100000", "+1"]) expect(parseDecimal(text), text).toBeNull();
    expect(formatDecimal({ units: 5n, scale: 3 })).toBe("0.005");
  });
});

describe("DateTime", () => {
  it.each([
    ["2024-05-01T10:00:00Z", true],
    ["2024-05-01T10:00:00", true],
    ["2024-05-01T10:00:00.1Z", true],
    ["2024-05-01T10:00:00.123456789", true],
    ["2024-02-29T23:59:59Z", true],
    ["2024-05-01T10:00:00+00:00", false],
    ["2024-05-01T10:00:00.Z", false],
    ["2024-05-01 10:00:00Z", false],
    ["2024-05-01T10:00Z", false],
    ["2023-02-29T10:00:00Z", false],
    ["2024-13-01T10:00:00Z", false],
    ["2024-05-01T24:00:00Z", false],
    ["2024-05-01t10:00:00z", false],
    ["", false],
  ])("%s accepted: %s", (text, ok) => expect(isOcpiDateTime(text)).toBe(ok));

  it("orders by instant, writes UTC with Z and at most three fractional digits", () => {
    expect(dateTimeOrderKey("2024-05-01T10:00:00.5")! > dateTimeOrderKey("2024-05-01T10:00:00.499999Z")!).toBe(true);
    expect(dateTimeOrderKey("2024-05-01T10:00:00Z")).toBe(dateTimeOrderKey("2024-05-01T10:00:00.000"));
    expect(formatOcpiDateTime(Date.UTC(2024, 4, 1, 10))).toBe("2024-05-01T10:00:00Z");
    expect(formatOcpiDateTime(Date.UTC(2024, 4, 1, 10, 0, 0, 125))).toBe("2024-05-01T10:00:00.125Z");
    expect(normalizeOcpiDateTime("2024-05-01T10:00:00.123456")).toBe("2024-05-01T10:00:00.123Z");
  });
});

describe("credentials tokens in the Authorization header", () => {
  it("writes Base64 with padding on 2.2.1, as is on 2.1.1, or as the connection forces", () => {
    expect(encodingFor("2.2.1", null)).toBe("base64");
    expect(encodingFor("2.1.1", null)).toBe("plain");
    expect(encodingFor("2.2.1", "plain")).toBe("plain");
    expect(authorizationHeader("abcd", "base64")).toBe("Token YWJjZA==");
    expect(authorizationHeader("abcd", "plain")).toBe("Token abcd");
  });

  it("reads either form, padded or not", () => {
    expect(tokenCandidates("Token YWJjZA==")).toEqual(["YWJjZA==", "abcd"]);
    expect(tokenCandidates("Token YWJjZA")).toEqual(["YWJjZA", "abcd"]);
    expect(tokenCandidates("token plain-token")).toEqual(["plain-token"]);
    for (const header of [undefined, "", "Bearer x", "Token", "Token a b"]) expect(tokenCandidates(header)).toEqual([]);
  });
});

describe("reading answers", () => {
  it("reads an envelope; anything else is null", () => {
    expect(readEnvelope('{"data":{"x":1.50},"status_code":1000,"status_message":"ok","timestamp":"2024-01-01T00:00:00Z"}')).toMatchObject({ statusCode: 1000, statusMessage: "ok" });
    for (const text of ["", "<html>", "[]", '{"status_code":"1000"}', '{"data":1}']) expect(readEnvelope(text), text).toBeNull();
  });

  it("follows Link rel=next exactly as written", () => {
    const base = "https://cpo.example/ocpi/2.2.1/locations?offset=0";
    expect(nextLink('<https://cpo.example/ocpi/2.2.1/locations?offset=50&limit=50&date_from=2016-01-01T00:00:00Z>; rel="next"', base)).toBe(
      "https://cpo.example/ocpi/2.2.1/locations?offset=50&limit=50&date_from=2016-01-01T00:00:00Z",
    );
    expect(nextLink('<https://cpo.example/prev>; rel="prev", <https://cpo.example/next?x=1>; rel=next', base)).toBe("https://cpo.example/next?x=1");
    expect(nextLink("</ocpi/2.2.1/locations?offset=2>; rel=\"next\"", base)).toBe("https://cpo.example/ocpi/2.2.1/locations?offset=2");
    expect(nextLink('<https://cpo.example/prev>; rel="prev"', base)).toBeNull();
    expect(nextLink(null, base)).toBeNull();
  });
});

describe("settings of §7.1", () => {
  it("accepts the defaults and well-formed values", () => {
    expect(ocpiSettingProblems({})).toEqual([]);
    expect(ocpiSettingProblems({ OCPI_COUNTRY_CODE: "BE", OCPI_PARTY_ID: "N1X", OCPI_TOKEN_PREFIX: "NYX*", OCPI_BUSINESS_NAME: "Nayax Ltd", PUBLIC_URL: "https://gw.example/base", OCPI_START_WINDOW_SECONDS: "300" })).toEqual([]);
    expect(ocpiStartVars({}, 8790)).toEqual({ PUBLIC_URL: "http://127.0.0.1:8790" });
    expect(ocpiStartVars({ OCPI_PARTY_ID: "ABC" }, 8787)).toEqual({ OCPI_PARTY_ID: "ABC", PUBLIC_URL: "http://127.0.0.1:8787" });
  });

  it.each([
    ["OCPI_COUNTRY_CODE", "il"],
    ["OCPI_COUNTRY_CODE", "ISR"],
    ["OCPI_PARTY_ID", "NY"],
    ["OCPI_PARTY_ID", "ny-"],
    ["OCPI_TOKEN_PREFIX", "NYX"],
    ["OCPI_TOKEN_PREFIX", "NYXA"],
    ["OCPI_TOKEN_PREFIX", "NYX "],
    ["OCPI_TOKEN_PREFIX", "nyx-"],
    ["OCPI_BUSINESS_NAME", " "],
    ["OCPI_BUSINESS_NAME", "x".repeat(101)],
    ["PUBLIC_URL", "gw.example"],
    ["PUBLIC_URL", "ftp://gw.example"],
    ["PUBLIC_URL", "https://gw.example/?a=1"],
    ["OCPI_START_WINDOW_SECONDS", "0"],
    ["OCPI_RESULT_GRACE_SECONDS", "1.5"],
    ["OCPI_CDR_WAIT_SECONDS", "soon"],
  ])("refuses %s=%s, naming the variable", (name, value) => {
    const problems = ocpiSettingProblems({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name}: `));
    expect(() => ocpiStartVars({ [name]: value }, 8787)).toThrow(name);
  });
});
