// npm run golden: rewrite test/golden/<set>/ from the current templates.
import { mkdirSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { dirname, join } from "node:path";
import { buildGolden, GOLDEN_ROOT, GOLDEN_SETS } from "./golden.js";

for (const [name, spec] of Object.entries(GOLDEN_SETS)) {
  const dir = join(GOLDEN_ROOT, name);
  rmSync(dir, { recursive: true, force: true });
  const files = buildGolden(spec);
  for (const f of files) {
    const p = join(dir, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content);
    chmodSync(p, f.mode);
  }
  console.log(`wrote ${files.length} golden files to ${dir}`);
}
