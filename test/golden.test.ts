import { test } from "node:test";
import assert from "node:assert/strict";
import { buildExample, readTree, GOLDEN_DIR } from "./golden.js";

test("the example's full output matches the checked-in golden files (npm run golden updates them)", () => {
  const got = buildExample();
  const want = readTree(GOLDEN_DIR);
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
