// Node preload for the parity suite's reference renderer (`node --import`): HyperFrames'
// compiler fetch()es CDN scripts (jsDelivr / unpkg `…/<package>@<version>/<file>`) to inline
// them. Offline, this answers those requests from the npm packages installed in $PEER_CDN_ROOT
// (a node_modules folder): the same bytes an online run downloads, so the compiled page is the
// same. Any other URL goes to the real fetch (and fails offline, as it should).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = process.env.PEER_CDN_ROOT;
const cdn = /^https?:\/\/(?:cdn\.jsdelivr\.net\/npm|unpkg\.com)\/((?:@[^/@]+\/)?[^/@]+)(?:@[^/]+)?\/([^?#]*)/;
const networkFetch = globalThis.fetch;

globalThis.fetch = async (input, init) => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input?.url;
  const hit = root && url ? cdn.exec(url) : null;
  if (hit) {
    const file = join(root, hit[1], hit[2]);
    if (existsSync(file)) {
      const type = file.endsWith(".css") ? "text/css" : "application/javascript";
      return new Response(readFileSync(file), { status: 200, headers: { "content-type": type } });
    }
  }
  return networkFetch(input, init);
};
