import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildGolden, readTree, GOLDEN_ROOT, GOLDEN_SETS } from "./golden.js";

for (const [name, spec] of Object.entries(GOLDEN_SETS)) {
  test(`${name}: the full output matches the checked-in golden files (npm run golden updates them)`, () => {
    const got = buildGolden(spec);
    const want = readTree(join(GOLDEN_ROOT, name));
    assert.deepEqual(
      got.map((f) => `${f.path} ${f.mode.toString(8)}`),
      want.map((f) => `${f.path} ${f.mode.toString(8)}`),
      "the same files with the same modes",
    );
    for (const [i, f] of got.entries()) {
      const w = want[i]!;
      if (f.path.endsWith(".gz")) assert.ok(f.content.equals(w.content), `${f.path} differs`);
      else assert.equal(f.content.toString("utf8"), w.content.toString("utf8"), `${f.path} differs`);
    }
  });
}
