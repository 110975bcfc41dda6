// Implements hf_fetch/range_set.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "hf_fetch/range_set.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pgmlr::hf_fetch {
namespace {

constexpr const char *kMagic = "pgml_replication ranges 1";

bool write_all(int fd, const std::string &s) {
	size_t off = 0;
	while (off < s.size()) {
		ssize_t w = write(fd, s.data() + off, s.size() - off);
		if (w < 0 && errno == EINTR) continue;
		if (w <= 0) return false;
		off += static_cast<size_t>(w);
	}
	return true;
}

bool parse_int(const std::string &s, int64_t *out) {
	if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) return false;
	*out = std::strtoll(s.c_str(), nullptr, 10);
	return true;
}

}  // namespace

void RangeSet::add(int64_t from, int64_t to) {
	if (to <= from) return;
	// Merge every interval that overlaps or touches [from, to).
	auto first = std::lower_bound(parts_.begin(), parts_.end(), from,
								  [](const Interval &iv, int64_t v) { return iv.to < v; });
	auto last = first;
	while (last != parts_.end() && last->from <= to) {
		from = std::min(from, last->from);
		to = std::max(to, last->to);
		++last;
	}
	first = parts_.erase(first, last);
	parts_.insert(first, Interval{from, to});
}

bool RangeSet::covers(int64_t from, int64_t to) const {
	if (to <= from) return true;
	auto it = std::upper_bound(parts_.begin(), parts_.end(), from,
							   [](int64_t v, const Interval &iv) { return v < iv.to; });
	return it != parts_.end() && it->from <= from && it->to >= to;
}

int64_t RangeSet::prefix_end() const { return !parts_.empty() && parts_.front().from == 0 ? parts_.front().to : 0; }

int64_t RangeSet::total() const {
	int64_t n = 0;
	for (const Interval &iv : parts_) n += iv.to - iv.from;
	return n;
}

bool RangeSet::first_gap(int64_t size, int64_t max_len, Interval *out) const {
	int64_t at = 0;
	for (const Interval &iv : parts_) {
		if (iv.from > at) break;
		at = std::max(at, iv.to);
	}
	if (at >= size) return false;
	int64_t end = size;
	for (const Interval &iv : parts_)
		if (iv.from > at) {
			end = std::min(end, iv.from);
			break;
		}
	*out = Interval{at, std::min(end, at + std::max<int64_t>(max_len, 1))};
	return true;
}

std::vector<Interval> split_ranges(int64_t size, int64_t range_size) {
	std::vector<Interval> out;
	if (range_size <= 0) range_size = size;
	for (int64_t at = 0; at < size; at += range_size) out.push_back(Interval{at, std::min(size, at + range_size)});
	return out;
}

std::string format_sidecar(const std::string &blob, int64_t size, const RangeSet &written) {
	std::string s = std::string(kMagic) + "\nblob " + blob + "\nsize " + std::to_string(size) + "\n";
	for (const Interval &iv : written.intervals()) s += std::to_string(iv.from) + " " + std::to_string(iv.to) + "\n";
	s += "end\n";
	return s;
}

bool parse_sidecar(std::string_view text, const std::string &blob, int64_t size, RangeSet *out) {
	if (text.size() > (size_t{1} << 20)) return false;
	std::istringstream in{std::string(text)};
	std::string line;
	if (!std::getline(in, line) || line != kMagic) return false;
	if (!std::getline(in, line) || line != "blob " + blob) return false;
	if (!std::getline(in, line) || line != "size " + std::to_string(size)) return false;
	RangeSet set;
	int64_t last_end = -1;
	while (std::getline(in, line)) {
		if (line == "end") {
			// Nothing may follow the end line.
			if (in.peek() != std::char_traits<char>::eof()) return false;
			*out = std::move(set);
			return true;
		}
		size_t sp = line.find(' ');
		int64_t from = 0, to = 0;
		if (sp == std::string::npos || !parse_int(line.substr(0, sp), &from) || !parse_int(line.substr(sp + 1), &to))
			return false;
		if (from < last_end || to <= from || to > size) return false;  // sorted, disjoint, inside the blob
		last_end = to;
		set.add(from, to);
	}
	return false;  // no end line: torn
}

std::string write_sidecar(const std::string &path, const std::string &text) {
	std::string tmp = path + ".tmp";
	int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) return std::string("could not write the ranges file: ") + std::strerror(errno);
	bool ok = write_all(fd, text) && fdatasync(fd) == 0;
	int err = errno;
	close(fd);
	if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
		if (ok) err = errno;
		unlink(tmp.c_str());
		return std::string("could not write the ranges file: ") + std::strerror(err);
	}
	return {};
}

bool read_sidecar(const std::string &path, std::string *text) {
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) return false;
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > (1 << 20)) {
		close(fd);
		return true;  // exists but is no sidecar: the caller sees garbage
	}
	text->assign(static_cast<size_t>(sb.st_size), '\0');
	ssize_t n = pread(fd, text->data(), text->size(), 0);
	close(fd);
	if (n < 0) text->clear();
	else text->resize(static_cast<size_t>(n));
	return true;
}

std::string sidecar_path_for(const std::string &partial_path) {
	std::string_view p = partial_path;
	std::string_view partial_suffix = ".pgml.incomplete";
	if (p.size() >= partial_suffix.size() && p.substr(p.size() - partial_suffix.size()) == partial_suffix)
		p.remove_suffix(partial_suffix.size());
	return std::string(p) + kRangesSuffix;
}

void flatten_to_prefix(const std::string &partial_path, const std::string &blob, int64_t size) {
	std::string side = sidecar_path_for(partial_path);
	unlink((side + ".tmp").c_str());
	std::string text;
	if (!read_sidecar(side, &text)) return;
	RangeSet written;
	bool fits = parse_sidecar(text, blob, size, &written);
	int fd = open(partial_path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	bool cut = fits && fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
			   ftruncate(fd, std::min<int64_t>(written.prefix_end(), sb.st_size)) == 0 && fdatasync(fd) == 0;
	if (fd >= 0) close(fd);
	if (!cut) unlink(partial_path.c_str());
	unlink(side.c_str());
}

}  // namespace pgmlr::hf_fetch
