import { describe, expect, it } from "vitest";
import { successRate } from "./health";

describe("successRate", () => {
  it.each([
    [0, 0, null],
    [0, 3, "0"],
    [3, 3, "1"],
    [1, 2, "0.5"],
    [2, 3, "0.67"],
    [1, 3, "0.33"],
    [1, 8, "0.13"],
    [199, 200, "1"],
    [1, 200, "0.01"],
    [1, 201, "0"],
    [9, 10, "0.9"],
  ])("%i of %i → %s", (ok, total, rate) => {
    expect(successRate(ok, total)).toBe(rate);
  });
});
