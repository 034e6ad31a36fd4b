/**
 * What the card pays for a CPO's cost (CONTRACT §7.7), in exact decimal arithmetic:
 *
 *   base   = total_cost.incl_vat                           when a 2.2.1 Price has incl_vat
 *          = total_cost.excl_vat × (1 + vatPercent / 100)  otherwise, and always on 2.1.1
 *   amount = base × retailFactor, rounded once to 2 decimals, half away from zero,
 *            then at most the authorized amount
 */
import { MINOR_DIGITS } from "../lib/money";
import type { Minor } from "../lib/money";
import { add, decimalOf, multiply, roundHalfAwayFromZero, shift } from "./decimal";
import type { Cost, OcpiVersion } from "./model";

/** The tenant's amount settings, as decimal strings. */
export interface AmountSettings {
  retailFactor: string;
  vatPercent: string;
}

export interface AmountInput {
  totalCost: Cost;
  version: OcpiVersion;
  settings: AmountSettings;
}

/**
 * The amount before the cap, in minor units: what the cost cap compares with the authorized
 * amount. A negative cost (never a charge) counts as zero.
 */
export function cardAmountBeforeCap({ totalCost, version, settings }: AmountInput): Minor {
  const base =
    version === "2.2.1" && totalCost.inclVat !== null
      ? decimalOf(totalCost.inclVat)
      : multiply(decimalOf(totalCost.exclVat), shift(add({ units: 100n, scale: 0 }, decimalOf(settings.vatPercent)), 2));
  const amount = roundHalfAwayFromZero(multiply(base, decimalOf(settings.retailFactor)), MINOR_DIGITS);
  return amount < 0n ? 0n : amount;
}

/** The amount the card is settled for: {@link cardAmountBeforeCap}, then at most `authorized`; `capped` when the cap bit. */
export function cardAmount(input: AmountInput & { authorized: Minor }): { amount: Minor; capped: boolean } {
  const amount = cardAmountBeforeCap(input);
  return amount > input.authorized ? { amount: input.authorized, capped: true } : { amount, capped: false };
}
