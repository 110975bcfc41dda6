// What a manifest still needs in a cache: blobs to download (one per repo
// folder and blob, however many paths and revisions share it), snapshot
// symlinks to create, refs files to write. Reads the cache, never writes.
#pragma once
#include "common/core_only.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include "hf_fetch/rows.hpp"
#include "common/error.hpp"

namespace pgmlr::hf_fetch {

struct BlobTask {
	std::string folder;  // repo folder name, relative to the cache root
	std::string blob;
	int64_t size = 0;
	Row source;          // the first row naming this blob: where to fetch it
	bool present = false;
	std::vector<size_t> links;  // indexes into Plan::links
};

struct LinkTask {
	std::string dir;     // relative to the cache root: folder/snapshots/<rev>[/sub]
	std::string name;    // last path segment
	std::string target;  // relative: ../../blobs/<blob>
	size_t blob = 0;     // index into Plan::blobs
	size_t group = 0;    // index into Plan::groups
	bool done = false;
};

// The rows of one repo folder and revision: its refs are written only once
// every link of the group exists.
struct Group {
	std::string folder;
	std::string revision;
	size_t links_pending = 0;
	bool failed = false;
	bool refs_written = false;
};

struct RefTask {
	std::string folder;
	std::string ref;
	std::string revision;  // cleared once written (or given up)
	size_t group = 0;
	bool writing = false;  // handed to the publishing threads
};

struct Plan {
	std::vector<BlobTask> blobs;
	std::vector<LinkTask> links;
	std::vector<Group> groups;
	std::vector<RefTask> refs;
	std::vector<RefusedRow> refused;  // rows of repos whose rows contradict each other
};

// rows must be validated. root is the real cache root. Rows that contradict
// each other (one path with two blobs, one blob with two sizes, one ref with
// two commits) refuse their repo: none of its rows is planned, each is
// listed in Plan::refused with the conflict, and every other repo is planned
// as usual. Only an I/O error while verifying a present blob fails the plan.
Result<Plan> make_plan(const std::vector<Row> &rows, const std::string &root, bool verify_present);

}  // namespace pgmlr::hf_fetch
