// Runs HyperFrames' own audio pass (`processCompositionAudio` of the installed CLI bundle) over
// the elements in a spec file and keeps its work folder, so that the test can read HyperFrames'
// intermediate tracks (`<id>-fx.wav`, `group-<id>-<n>-fx.wav`) sample by sample.
//
//   node hf_tracks.mjs <bundle chunk-VKFYI7AQ.js> <spec.json>
//   spec: {"elements": [...], "baseDir", "workDir", "output", "duration", "master"?, "streaming"?}
//
// `streaming` (HyperFrames' own limit names: aboveBytes, segmentSeconds, prerollSeconds,
// maxPrerollSeconds, postrollSeconds) replaces the bundle's `DEFAULT_STREAMING_LIMITS` as the
// bundle is loaded (a module load hook edits its text), so that a test can have short inputs
// rendered in segments as HyperFrames renders inputs over 512 MiB.
//
// HyperFrames removes its work folder when the mix is done; `fs.rmSync` is made a no-op first
// (`syncBuiltinESMExports` carries it into the bundle's named import).
import fs from "node:fs";
import path from "node:path";
import { register, syncBuiltinESMExports } from "node:module";

const [bundle, specPath] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(specPath, "utf8"));
if (spec.streaming) {
  const limits = `var DEFAULT_STREAMING_LIMITS = ${JSON.stringify(spec.streaming)}`;
  const hooks = `export async function load(url, context, next) {
    const loaded = await next(url, context);
    if (!url.endsWith(${JSON.stringify("/" + path.basename(bundle))})) return loaded;
    const text = String(loaded.source);
    const edited = text.replace(/var DEFAULT_STREAMING_LIMITS = \\{[^}]*\\}/, () => ${JSON.stringify(limits)});
    if (edited === text) throw new Error("DEFAULT_STREAMING_LIMITS not found in the bundle");
    return { ...loaded, source: edited };
  }`;
  register("data:text/javascript," + encodeURIComponent(hooks));
}
fs.rmSync = () => {};
syncBuiltinESMExports();
const { processCompositionAudio } = await import(bundle);
// As `parseAudioElements` reads an element: its `rate` lane (`readElementRateSpec`) is its
// playback rate.
const { resolveRateSpec } = await import(path.join(path.dirname(bundle), "chunk-6M3IPJS6.js"));
for (const element of spec.elements) {
  if (element.automation && element.playbackRate === undefined) {
    element.playbackRate = resolveRateSpec(element.automation, 1);
  }
}
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
