import { describe, expect, it } from "vitest";
import { SPARK_CODES, START_AUTHENTICATION_CODES, SparkCode, StartAuthenticationCode, describeSparkCode } from "./codes";

describe("Spark codes", () => {
  it("describes global codes", () => {
    expect(describeSparkCode(35)).toBe("Settlement Failed");
    expect(describeSparkCode(SparkCode.AlreadyCancelled, "CancelTransaction")).toBe("Already Cancelled");
    expect(describeSparkCode(999)).toBe("Nayax General Error");
    expect(SPARK_CODES.size).toBe(28);
  });

  it("gives StartAuthentication's own meaning first, with the conflicting global one", () => {
    expect(describeSparkCode(StartAuthenticationCode.InvalidToken, "StartAuthentication")).toBe("Invalid Token (global table: Already Cancelled)");
    expect(describeSparkCode(34, "StartAuthentication")).toBe("Decryption Failure (global table: Missing Amount)");
    expect(describeSparkCode(33, "StartAuthentication")).toBe("Fail To Authenticate");
    expect(START_AUTHENTICATION_CODES.size).toBe(4);
  });

  it("names unknown and missing codes", () => {
    expect(describeSparkCode(12345)).toBe("Unknown Spark code 12345");
    expect(describeSparkCode(null)).toBe("no error code");
  });

  it("keeps the named constants in step with the table", () => {
    for (const code of Object.values(SparkCode)) expect(SPARK_CODES.has(code)).toBe(true);
  });
});
