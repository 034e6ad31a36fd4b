import { ecb } from "@noble/ciphers/aes.js";
import { describe, expect, it } from "vitest";
import { CIPHER_KEY_LENGTH, RANDOM_LENGTH, buildCipher, cipherKey, cipherTimestampToDate, generateRandom, openCipher } from "./cipher";

/** The documented example (spark-api.md §1.5, §2.1). */
const TOKEN = "mrV3U3nsgGFrE3w5-wnBo_WCLPce-pZ1awRvTVTkungMIKThTVbj_fiXdfoGclhn0";
const ID = "12c7cec2-c690-4425-9a1f-db0db60e2d8c";
const RANDOM = "123456789qwertyui";
/** 2023-06-06 10:21 UTC → "2306061021". */
const AT = new Date("2023-06-06T10:21:42.000Z");

function base64Bytes(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

describe("cipher", () => {
  it("keys with the rightmost 32 characters of the token", () => {
    expect(new TextDecoder().decode(cipherKey(TOKEN))).toBe("wRvTVTkungMIKThTVbj_fiXdfoGclhn0");
    expect(cipherKey("x".repeat(CIPHER_KEY_LENGTH))).toHaveLength(32);
  });

  it("refuses tokens shorter than 32 characters, or non-ASCII keys", () => {
    expect(() => cipherKey("x".repeat(31))).toThrow(/at least 32 characters/);
    expect(() => cipherKey("é".repeat(32))).toThrow(/ASCII/);
  });

  it("reproduces the documented ciphertext X305dITNTAw2vHsx…gpJ5ggnw=", () => {
    const cipher = buildCipher({ sparkTransactionId: ID, random: RANDOM, secretToken: TOKEN, now: AT });
    expect(cipher.startsWith("X305dITNTAw2vHsx")).toBe(true);
    expect(cipher.endsWith("gpJ5ggnw=")).toBe(true);
    // 64-byte plaintext + a full PKCS#7 padding block = 80 bytes.
    expect(base64Bytes(cipher)).toHaveLength(80);
    // Independent decryption with the library shows the exact documented plaintext.
    const plain = new TextDecoder().decode(ecb(cipherKey(TOKEN)).decrypt(base64Bytes(cipher)));
    expect(plain).toBe("12c7cec2-c690-4425-9a1f-db0db60e2d8c=123456789qwertyui2306061021");
    expect(plain).toHaveLength(64);
  });

  it("round-trips through openCipher", () => {
    const cipher = buildCipher({ sparkTransactionId: ID, random: RANDOM, secretToken: TOKEN, now: AT });
    expect(openCipher(cipher, TOKEN)).toEqual({ sparkTransactionId: ID, random: RANDOM, timestamp: "2306061021" });
  });

  it("openCipher refuses another token, garbage and malformed layouts", () => {
    const cipher = buildCipher({ sparkTransactionId: ID, random: RANDOM, secretToken: TOKEN, now: AT });
    expect(openCipher(cipher, "another-token-0000000000000000000000000000000")).toBeNull();
    expect(openCipher("not base64!!", TOKEN)).toBeNull();
    expect(openCipher("", TOKEN)).toBeNull();
    const encrypt = (plain: string) => {
      const bytes = ecb(cipherKey(TOKEN)).encrypt(new TextEncoder().encode(plain));
      return btoa(String.fromCharCode(...bytes));
    };
    expect(openCipher(encrypt(`${ID}-${RANDOM}2306061021`), TOKEN)).toBeNull(); // no "=" at 37
    expect(openCipher(encrypt(`${ID}=short`), TOKEN)).toBeNull();
    expect(openCipher(encrypt(`${ID}=${RANDOM}23060610`), TOKEN)).toBeNull();
    // Without a timestamp (Nayax's C# sample) it still opens.
    expect(openCipher(encrypt(`${ID}=${RANDOM}`), TOKEN)).toEqual({ sparkTransactionId: ID, random: RANDOM, timestamp: null });
  });

  it("refuses to build a cipher with a malformed id or random", () => {
    expect(() => buildCipher({ sparkTransactionId: "abc", random: RANDOM, secretToken: TOKEN })).toThrow(/GUID/);
    expect(() => buildCipher({ sparkTransactionId: ID, random: "123", secretToken: TOKEN })).toThrow(/Random/);
    expect(() => buildCipher({ sparkTransactionId: ID, random: RANDOM, secretToken: "short" })).toThrow(/32/);
  });

  it("generates 17 alphanumerics, different each time", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const random = generateRandom();
      expect(random).toMatch(new RegExp(`^[A-Za-z0-9]{${RANDOM_LENGTH}}$`));
      seen.add(random);
    }
    expect(seen.size).toBe(200);
  });

  it("reads cipher timestamps as UTC", () => {
    expect(cipherTimestampToDate("2306061021")?.toISOString()).toBe("2023-06-06T10:21:00.000Z");
    expect(cipherTimestampToDate("2313061021")).toBeNull();
    expect(cipherTimestampToDate("2306062460")).toBeNull();
    expect(cipherTimestampToDate("23060610")).toBeNull();
  });
});
