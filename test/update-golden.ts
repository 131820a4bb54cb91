// npm run golden: rewrite test/golden/example from the current templates.
import { mkdirSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { dirname, join } from "node:path";
import { buildExample, GOLDEN_DIR } from "./golden.js";

rmSync(GOLDEN_DIR, { recursive: true, force: true });
const files = buildExample();
for (const f of files) {
  const p = join(GOLDEN_DIR, f.path);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, f.content);
  chmodSync(p, f.mode);
}
console.log(`wrote ${files.length} golden files to ${GOLDEN_DIR}`);
