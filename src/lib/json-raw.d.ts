// JSON.rawJSON / JSON.isRawJSON and reviver source access (TC39 "JSON.parse source text access"), shipped in V8/workerd.
interface JSON {
  rawJSON(text: string): unknown;
  isRawJSON(value: unknown): boolean;
}
