// JSON.rawJSON and reviver source access (TC39 "JSON.parse source text access"), shipped in V8/workerd.
interface JSON {
  rawJSON(text: string): unknown;
}
