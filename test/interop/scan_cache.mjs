// Lists a huggingface_hub cache with @huggingface/hub's own scanCacheDir and
// prints JSON: {version, repos: [{id, type, revisions: [{commit, refs, files}]}], warnings}.
// Usage: node scan_cache.mjs CACHE_DIR   (NODE_PATH or a node_modules next to it)
import { createRequire } from "node:module";
import { scanCacheDir } from "@huggingface/hub";

const require = createRequire(import.meta.url);
let version = "unknown";
try {
  version = require("@huggingface/hub/package.json").version;
} catch {
  /* exports may hide package.json */
}
const info = await scanCacheDir(process.argv[2]);
const repos = info.repos
  .map((r) => ({
    id: r.id.name,
    type: r.id.type,
    files: r.filesCount,
    revisions: r.revisions
      .map((v) => ({
        commit: v.commitOid,
        refs: [...v.refs].sort(),
        files: v.files.map((f) => f.path.slice(v.path.length + 1) + " " + f.blob.size).sort(),
      }))
      .sort((a, b) => a.commit.localeCompare(b.commit)),
  }))
  .sort((a, b) => (a.type + a.id).localeCompare(b.type + b.id));
console.log(JSON.stringify({ version, size: info.size, repos, warnings: info.warnings.map((w) => String(w)) }));
