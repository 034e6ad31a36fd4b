/** CONTRACT §7.7 amounts: exact decimal arithmetic, one rounding half away from zero, then the cap. */
import { describe, expect, it } from "vitest";
import { formatMoney } from "../lib/money";
import { cardAmount, cardAmountBeforeCap } from "./amounts";
import type { Cost, OcpiVersion } from "./model";

const settings = (retailFactor: string, vatPercent: string) => ({ retailFactor, vatPercent });

describe("cardAmount", () => {
  it.each<[string, OcpiVersion, Cost, string, string, string]>([
    // The worked examples of §7.7.
    ["incl_vat 4.3240 × 1.25 = 5.405 → 5.41", "2.2.1", { exclVat: "3.93", inclVat: "4.3240" }, "1.25", "0", "5.41"],
    ["2.1.1 total_cost 2.1125 × 1.20 (VAT 20 %) = 2.535 → 2.54", "2.1.1", { exclVat: "2.1125", inclVat: null }, "1", "20", "2.54"],
    ["0.30000000000000004 × 1 → 0.30", "2.2.1", { exclVat: "0.30000000000000004", inclVat: null }, "1", "0", "0.30"],
    ["incl_vat 0.0030 × 1.25 = 0.00375 → 0.00", "2.2.1", { exclVat: "0.0024", inclVat: "0.0030" }, "1.25", "0", "0.00"],
    // incl_vat wins on 2.2.1; VAT is added to excl_vat only when incl_vat is missing, and always on 2.1.1.
    ["2.2.1 incl_vat given: VAT setting ignored", "2.2.1", { exclVat: "10", inclVat: "12.10" }, "1", "21", "12.10"],
    ["2.2.1 only excl_vat: VAT added", "2.2.1", { exclVat: "10", inclVat: null }, "1", "21", "12.10"],
    ["2.1.1 ignores any incl_vat", "2.1.1", { exclVat: "10", inclVat: "99" }, "1", "21", "12.10"],
    ["half rounds away from zero", "2.2.1", { exclVat: "0", inclVat: "0.125" }, "1", "0", "0.13"],
    ["just below half rounds down", "2.2.1", { exclVat: "0", inclVat: "0.1249999999" }, "1", "0", "0.12"],
    ["one rounding only: 1.0049 × 1.0001 = 1.00500049 → 1.01", "2.2.1", { exclVat: "0", inclVat: "1.0049" }, "1.0001", "0", "1.01"],
    ["fractional VAT percent", "2.1.1", { exclVat: "100", inclVat: null }, "1", "7.75", "107.75"],
    ["exponent form from JSON", "2.2.1", { exclVat: "1E1", inclVat: null }, "1.5", "0", "15.00"],
    ["large amounts stay exact", "2.2.1", { exclVat: "0", inclVat: "123456789012.345" }, "1", "0", "123456789012.35"],
    ["a negative cost never charges", "2.2.1", { exclVat: "-4.00", inclVat: "-4.40" }, "1", "0", "0.00"],
  ])("%s", (_name, version, totalCost, retailFactor, vatPercent, expected) => {
    const amount = cardAmountBeforeCap({ totalCost, version, settings: settings(retailFactor, vatPercent) });
    expect(formatMoney(amount)).toBe(expected);
    expect(cardAmount({ totalCost, version, settings: settings(retailFactor, vatPercent), authorized: 10n ** 15n })).toEqual({ amount, capped: false });
  });

  it("caps at the authorized amount and says so", () => {
    const input = { totalCost: { exclVat: "40", inclVat: "48.40" }, version: "2.2.1" as const, settings: settings("1.25", "0") };
    expect(formatMoney(cardAmountBeforeCap(input))).toBe("60.50");
    expect(cardAmount({ ...input, authorized: 5000n })).toEqual({ amount: 5000n, capped: true });
    expect(cardAmount({ ...input, authorized: 6050n })).toEqual({ amount: 6050n, capped: false });
    expect(cardAmount({ ...input, authorized: 6049n })).toEqual({ amount: 6049n, capped: true });
  });

  it("is not what a binary float gives", () => {
    // 2.1125 * 1.2 in floating point is 2.5349999999999997, which rounds to 2.53.
    expect(Math.round(2.1125 * 1.2 * 100) / 100).toBe(2.53);
    expect(formatMoney(cardAmountBeforeCap({ totalCost: { exclVat: "2.1125", inclVat: null }, version: "2.1.1", settings: settings("1", "20") }))).toBe("2.54");
  });
});
