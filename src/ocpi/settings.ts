/** A tenant's OCPI amount settings (CONTRACT §7.7): retail factor, VAT percent, expected currency. */
import { eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { ocpiSettings } from "../db/schema";
import type { AmountSettings } from "./amounts";
import { compareDecimal, formatDecimal, parseDecimal } from "./decimal";

export interface TenantOcpiSettings extends AmountSettings {
  /** ISO 4217 code the CDRs must be in; null: not checked. */
  currency: string | null;
}

/** §7.7 defaults: the CPO's cost as is, no VAT added, any currency. */
export const DEFAULT_OCPI_SETTINGS: TenantOcpiSettings = { retailFactor: "1", vatPercent: "0", currency: null };

/** Most decimals of each setting as written. */
export const RETAIL_FACTOR_DECIMALS = 4;
export const VAT_PERCENT_DECIMALS = 2;

/** The tenant's settings, defaults where it set none. */
export async function getOcpiSettings(db: Database, tenantId: string): Promise<TenantOcpiSettings> {
  const row = await db.select().from(ocpiSettings).where(eq(ocpiSettings.tenantId, tenantId)).get();
  return row ? { retailFactor: row.retailFactor, vatPercent: row.vatPercent, currency: row.currency } : { ...DEFAULT_OCPI_SETTINGS };
}

/** Stores the tenant's settings (the result of merging a change into {@link getOcpiSettings}). */
export async function saveOcpiSettings(db: Database, tenantId: string, settings: TenantOcpiSettings): Promise<void> {
  const now = Date.now();
  await db
    .insert(ocpiSettings)
    .values({ tenantId, ...settings, updatedAt: now })
    .onConflictDoUpdate({ target: ocpiSettings.tenantId, set: { ...settings, updatedAt: now } });
}

/**
 * Reads a setting given as a decimal string or a JSON number: its normalized decimal text, or why
 * it is refused. Decimals are counted as written, like money in the tenant API.
 */
export function readSettingDecimal(value: string | number, limits: { decimals: number; min: string; minInclusive: boolean; max?: string }): { ok: true; value: string } | { ok: false; message: string } {
  const text = String(value).trim();
  if (typeof value === "string" && !/^\d+(\.\d+)?$/.test(text)) return { ok: false, message: "must be a decimal number" };
  const decimal = parseDecimal(text);
  if (!decimal || (typeof value === "number" && !Number.isFinite(value))) return { ok: false, message: "must be a decimal number" };
  const decimalsOf = (written: string) => /\.(\d+)$/.exec(written)?.[1]?.length ?? 0;
  const written = typeof value === "string" ? decimalsOf(text) : decimalsOf(formatDecimal(decimal));
  if (written > limits.decimals) return { ok: false, message: `must have at most ${limits.decimals} decimals` };
  const min = parseDecimal(limits.min)!;
  const belowMin = limits.minInclusive ? compareDecimal(decimal, min) < 0 : compareDecimal(decimal, min) <= 0;
  if (belowMin) return { ok: false, message: limits.minInclusive ? `must be at least ${limits.min}` : `must be above ${limits.min}` };
  if (limits.max !== undefined && compareDecimal(decimal, parseDecimal(limits.max)!) > 0) return { ok: false, message: `must be at most ${limits.max}` };
  return { ok: true, value: formatDecimal(decimal) };
}
