/** OCPI ids are CiStrings: matched case-insensitively (ASCII), returned as received. */

/** The key an id is stored and matched under. */
export function idKey(id: string): string {
  return id.toUpperCase();
}

/** Whether two ids name the same object. */
export function sameId(a: string, b: string): boolean {
  return idKey(a) === idKey(b);
}
