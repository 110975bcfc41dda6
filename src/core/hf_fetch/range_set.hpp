// Which bytes of a blob a ranged download holds (a set of byte intervals),
// how a blob is cut into ranges, and the resume sidecar
// (blobs/<blob>.pgml.ranges) that records the written intervals of a
// partial file whose bytes did not arrive in order. A partial file without
// a sidecar is a plain prefix (the single-stream format).
#pragma once
#include "common/core_only.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgmlr::hf_fetch {

inline constexpr const char *kRangesSuffix = ".pgml.ranges";
inline constexpr const char *kRangesTempSuffix = ".pgml.ranges.tmp";

struct Interval {
	int64_t from = 0;
	int64_t to = 0;  // exclusive
	bool operator==(const Interval &o) const { return from == o.from && to == o.to; }
};

// Sorted, disjoint, non-adjacent intervals (adjacent ones are merged).
class RangeSet {
public:
	void add(int64_t from, int64_t to);
	bool covers(int64_t from, int64_t to) const;
	int64_t prefix_end() const;  // the end of the interval that starts at 0, else 0
	int64_t total() const;
	bool empty() const { return parts_.empty(); }
	// The first bytes in [0, size) not in the set, at most max_len of them.
	bool first_gap(int64_t size, int64_t max_len, Interval *out) const;
	const std::vector<Interval> &intervals() const { return parts_; }

private:
	std::vector<Interval> parts_;
};

// [0, size) cut into ranges of range_size bytes (the last one shorter).
std::vector<Interval> split_ranges(int64_t size, int64_t range_size);

// The sidecar text: a header naming the blob and its size, one "from to"
// line per interval, and an end line (a torn write does not parse).
std::string format_sidecar(const std::string &blob, int64_t size, const RangeSet &written);
// false when the text is not a complete sidecar of this blob and size, or
// an interval falls outside the blob.
bool parse_sidecar(std::string_view text, const std::string &blob, int64_t size, RangeSet *out);

// blobs/<blob>.pgml.ranges for blobs/<blob>.pgml.incomplete.
std::string sidecar_path_for(const std::string &partial_path);

// Replaces the sidecar atomically: writes path + ".tmp", syncs it, renames.
// The caller has synced the data file before. Returns an error text.
std::string write_sidecar(const std::string &path, const std::string &text);
// Reads a sidecar; false when it does not exist or cannot be read.
bool read_sidecar(const std::string &path, std::string *text);

// A partial file that will be resumed by one stream: when a sidecar lies
// next to it, the file is cut to the sidecar's contiguous prefix (or
// removed when the sidecar does not parse), then the sidecar goes.
void flatten_to_prefix(const std::string &partial_path, const std::string &blob, int64_t size);

}  // namespace pgmlr::hf_fetch
