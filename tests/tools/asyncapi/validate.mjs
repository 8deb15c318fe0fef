// Validates an AsyncAPI document with the AsyncAPI project's own parser (@asyncapi/parser).
// Usage: node validate.mjs FILE.json  -> prints the diagnostics as JSON lines; exit 1 on any error.
import { readFileSync } from "node:fs";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const file = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(file, "utf8"), { source: file });
const severity = Object.fromEntries(Object.entries(DiagnosticSeverity).map(([k, v]) => [v, k]));
for (const d of diagnostics) {
  console.log(JSON.stringify({ severity: severity[d.severity], code: d.code, message: d.message, path: d.path }));
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
if (!document || errors.length) {
  console.error(`${file}: ${errors.length} error(s)`);
  process.exit(1);
}
console.error(`${file}: valid AsyncAPI ${document.version()}, ${document.channels().length} channels, ` +
  `${document.operations().length} operations, ${document.messages().length} messages`);
