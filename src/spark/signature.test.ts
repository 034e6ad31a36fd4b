import { describe, expect, it } from "vitest";
import { sha256Hex, timingSafeEqualText as timingSafeEqualString } from "../lib/crypto";
import { hashSparkTransactionId, timingSafeEqualHex, transactionSignature } from "./signature";

describe("Spark v2 signature", () => {
  it("matches the documented TransactionSignature example (spark-api.md §1.6)", async () => {
    expect(await transactionSignature("123456789123456789abcdefghijklmnopqr", "RbtdDsiVNjkAeRty")).toBe(
      "1b7dd1c4010698824de66f13e1387efc28a4bba00b720d4be8cdb3b598b9603e",
    );
  });

  it("matches the documented HashedSparkTransactionId example (spark-api.md §2.1)", async () => {
    expect(await hashSparkTransactionId("12c7cec2-c690-4425-9a1f-db0db60e2d8c")).toBe(
      "9515af0d6b5c328b6383ff241fa7b03e489d6285a8db6a4f0d8369e3f044e8d7",
    );
  });

  it("hashes UTF-8 and answers lowercase hex", async () => {
    expect(await sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(await sha256Hex("é")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("compares without caring about position of the difference", () => {
    expect(timingSafeEqualString("abc", "abc")).toBe(true);
    expect(timingSafeEqualString("abc", "abd")).toBe(false);
    expect(timingSafeEqualString("abc", "ab")).toBe(false);
    expect(timingSafeEqualString("", "")).toBe(true);
    expect(timingSafeEqualString("ab", "ab\u0000")).toBe(false);
    expect(timingSafeEqualHex("9515AF", "9515af")).toBe(true);
    expect(timingSafeEqualHex("9515ae", "9515af")).toBe(false);
  });
});
