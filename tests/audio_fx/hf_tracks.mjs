// Runs HyperFrames' own audio pass (`processCompositionAudio` of the installed CLI bundle) over
// the elements in a spec file and keeps its work folder, so that the test can read HyperFrames'
// intermediate tracks (`<id>-fx.wav`, `group-<id>-<n>-fx.wav`) sample by sample.
//
//   node hf_tracks.mjs <bundle chunk-VKFYI7AQ.js> <spec.json>
//   spec: {"elements": [...], "baseDir", "workDir", "output", "duration", "master"?}
//
// HyperFrames removes its work folder when the mix is done; `fs.rmSync` is made a no-op first
// (`syncBuiltinESMExports` carries it into the bundle's named import).
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";

const [bundle, specPath] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(specPath, "utf8"));
fs.rmSync = () => {};
syncBuiltinESMExports();
const { processCompositionAudio } = await import(bundle);
const config = spec.master ? { masterFxChain: spec.master } : {};
const result = await processCompositionAudio(
  spec.elements,
  spec.baseDir,
  spec.workDir,
  spec.output,
  spec.duration,
  undefined,
  config,
  undefined,
);
if (!result.success) {
  console.error(JSON.stringify(result));
  process.exit(1);
}
