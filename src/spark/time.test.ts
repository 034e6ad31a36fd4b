import { describe, expect, it } from "vitest";
import { cipherTime, deviceTimeOf, formatDeviceTime, parseDeviceTime } from "./time";

describe("device time", () => {
  it("reads and writes yyyyMMddHHmmssSSS", () => {
    expect(parseDeviceTime("20240205194122328")).toBe("2024-02-05T19:41:22.328");
    expect(formatDeviceTime("2024-02-05T19:41:22.328")).toBe("20240205194122328");
  });
  it.each(["2024020519412232", "202402051941223280", "20241305194122328", "20240231194122328", "20240205244122328", "2024O205194122328"])(
    "refuses %s",
    (text) => expect(parseDeviceTime(text)).toBeNull(),
  );
  it("formats server and cipher times in UTC", () => {
    const at = new Date("2023-06-06T10:21:05.123Z");
    expect(deviceTimeOf(at)).toBe("20230606102105123");
    expect(cipherTime(at)).toBe("2306061021");
  });
});
