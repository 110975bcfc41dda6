// extern "C" face of hf_cache/blob_read.hpp: the reader behind
// pgml_repl.hf_blob_read(), a handle owning one open blob file.
#include "common/core_only.hpp"

#include "hf_cache/blob_read.hpp"
#include "common/c_boundary.hpp"
#include "common/error.hpp"
#include "pgml_repl/hf_cache.h"

#include <memory>

using namespace pgmlr;
using namespace pgmlr::hf;

static_assert(PGMLR_HF_BLOB_READ_MAX == kMaxBlobReadLength, "pgml_repl/hf_cache.h must match blob_read.hpp");

struct pgmlr_hf_blob {
	BlobFile file;
};

extern "C" int64_t pgmlr_hf_blob_read_span(int64_t size, int64_t offset, int64_t length, pgmlr_status *status) {
	int64_t span = -1;
	guarded(status, [&]() -> Status {
		Result<int64_t> r = blob_read_span(size, offset, length);
		if (!r) return r.error();
		span = *r;
		return {};
	});
	return span;
}

extern "C" pgmlr_hf_blob *pgmlr_hf_blob_open(const char *cache_dir, const char *repo_type, const char *repo_id,
											 const char *blob, int64_t manifest_size, pgmlr_status *status) {
	pgmlr_hf_blob *out = nullptr;
	guarded(status, [&]() -> Status {
		Result<BlobFile> f = BlobFile::open(cache_dir ? cache_dir : "", repo_type ? repo_type : "",
											repo_id ? repo_id : "", blob ? blob : "", manifest_size);
		if (!f) return f.error();
		out = new pgmlr_hf_blob{std::move(*f)};
		return {};
	});
	return out;
}

extern "C" bool pgmlr_hf_blob_pread(const pgmlr_hf_blob *blob, int64_t offset, void *buf, size_t len,
									pgmlr_status *status) {
	guarded(status, [&]() -> Status { return blob->file.read_at(offset, buf, len); });
	return status->code == PGMLR_OK;
}

extern "C" void pgmlr_hf_blob_close(void *blob) { delete static_cast<pgmlr_hf_blob *>(blob); }
