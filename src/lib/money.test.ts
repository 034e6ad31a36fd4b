import { describe, expect, it } from "vitest";
import { formatMoney, moneyLiteral, parseMoney } from "./money";

describe("money", () => {
  it.each([
    ["10.00", 1000n],
    ["12.25", 1225n],
    ["0.30", 30n],
    ["0.3", 30n],
    ["15", 1500n],
    ["1.5e1", 1500n],
    ["125e-2", 125n],
    ["0", 0n],
    ["-0", 0n],
    ["12.250", 1225n],
  ])("parses %s exactly", (text, minor) => {
    expect(parseMoney(text)).toEqual({ ok: true, value: minor });
  });

  it.each([
    ["abc", "not_a_decimal"],
    ["1,5", "not_a_decimal"],
    ["", "not_a_decimal"],
    ["1.", "not_a_decimal"],
    ["-1.00", "negative"],
    ["1.005", "too_many_decimals"],
  ])("refuses %s", (text, problem) => {
    expect(parseMoney(text)).toEqual({ ok: false, problem });
  });

  it("formats with two decimals and as the shortest wire literal", () => {
    expect(formatMoney(30n)).toBe("0.30");
    expect(formatMoney(1225n)).toBe("12.25");
    expect(moneyLiteral(30n)).toBe("0.3");
    expect(moneyLiteral(1500n)).toBe("15");
    expect(moneyLiteral(1225n)).toBe("12.25");
    expect(moneyLiteral(0n)).toBe("0");
    expect(JSON.stringify({ Amount: JSON.rawJSON(moneyLiteral(30n)) })).toBe('{"Amount":0.3}');
  });
});
