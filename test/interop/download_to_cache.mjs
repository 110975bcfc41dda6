// Writes a huggingface_hub cache with @huggingface/hub's downloadFileToCacheDir
// from a Hub (the test Hub in the tests).
// Usage: node download_to_cache.mjs HUB_URL CACHE_DIR type:repo@revision:path ...
import { downloadFileToCacheDir } from "@huggingface/hub";

const [hubUrl, cacheDir, ...specs] = process.argv.slice(2);
for (const spec of specs) {
  const m = spec.match(/^(model|dataset|space):([^@]+)@([^:]+):(.+)$/);
  if (!m) throw new Error(`bad spec ${spec}`);
  const [, type, name, revision, path] = m;
  const link = await downloadFileToCacheDir({ repo: { type, name }, revision, path, hubUrl, cacheDir });
  console.log(link);
}
