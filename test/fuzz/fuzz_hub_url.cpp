// The Hub download URL built from a validated manifest row (the fetch core
// parses no HTTP headers through a function of its own: Content-Range is
// read inside a libcurl callback of the job, so the URL is the target here).
// Invariants, for every row validate_row accepts and any endpoint:
//  - the URL has no control character, blank or non-ASCII byte;
//  - it is exactly endpoint (without trailing '/') + "/" + {"", "datasets/",
//    "spaces/"} + repo_id + "/resolve/" + revision + "/" + encoded path, so
//    "/resolve/" occurs right after repo_id (it can appear again only inside
//    repo_id or the path, which are separate, validated segments);
//  - the encoded path holds only unreserved bytes, '/', and %XX escapes,
//    and percent-decoding each '/'-separated segment gives back the path's
//    segments;
// and for arbitrary bytes percent_encode(s, "") decodes back to s and has no
// '/', so a segment can never split.
#include <fuzzer/FuzzedDataProvider.h>

#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "hf_fetch/rows.hpp"

namespace {

int hexval(char c) {
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

bool unreserved(char c) {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		   c == '_' || c == '~';
}

// Strict decoder: every '%' must start a valid escape, everything else must
// be unreserved (or in extra).
bool decode(std::string_view s, std::string_view extra, std::string &out) {
	out.clear();
	for (size_t i = 0; i < s.size(); ++i) {
		if (s[i] == '%') {
			if (i + 2 >= s.size()) return false;
			int a = hexval(s[i + 1]), b = hexval(s[i + 2]);
			if (a < 0 || b < 0) return false;
			out += static_cast<char>(a * 16 + b);
			i += 2;
		} else if (unreserved(s[i]) || extra.find(s[i]) != std::string_view::npos) {
			out += s[i];
		} else {
			return false;
		}
	}
	return true;
}

std::string hex_of(FuzzedDataProvider &p, size_t n) {
	static const char *h = "0123456789abcdef";
	std::string s;
	for (size_t i = 0; i < n; ++i) s += h[p.ConsumeIntegral<uint8_t>() & 15];
	return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	FuzzedDataProvider p(data, size);
	static const char *const endpoints[] = {"https://huggingface.co", "https://huggingface.co/",
											"http://127.0.0.1:8080//", "https://hub.example/mirror/"};
	static const char *const types[] = {"model", "dataset", "space"};
	std::string endpoint = endpoints[p.ConsumeIntegralInRange<int>(0, 3)];
	pgmlr::hf_fetch::Row r;
	r.repo_type = types[p.ConsumeIntegralInRange<int>(0, 2)];
	r.revision = hex_of(p, 40);
	r.blob = hex_of(p, 40);
	r.repo_id = p.ConsumeRandomLengthString(200);
	r.path = p.ConsumeRandomLengthString(1100);
	std::string raw = p.ConsumeRemainingBytesAsString();

	std::string enc = pgmlr::hf_fetch::percent_encode(raw, "");
	std::string dec;
	FUZZ_CHECK(enc.find('/') == std::string::npos, enc);
	FUZZ_CHECK(decode(enc, "", dec) && dec == raw, enc);

	if (pgmlr::hf_fetch::validate_row(r)) return 0;  // only validated rows reach resolve_url
	std::string url = pgmlr::hf_fetch::resolve_url(endpoint, r);
	for (unsigned char c : url) FUZZ_CHECK(c > 0x20 && c < 0x7f, url);

	std::string base = endpoint;
	while (!base.empty() && base.back() == '/') base.pop_back();
	std::string head = base + "/" + (r.repo_type == "dataset" ? "datasets/" : r.repo_type == "space" ? "spaces/" : "") +
					   r.repo_id + "/resolve/" + r.revision + "/";
	FUZZ_CHECK(url.compare(0, head.size(), head) == 0, url, head);
	std::string tail = url.substr(head.size());
	std::vector<std::string> want, got;
	size_t start = 0;
	for (;;) {
		size_t end = r.path.find('/', start);
		want.push_back(r.path.substr(start, end == std::string::npos ? std::string::npos : end - start));
		if (end == std::string::npos) break;
		start = end + 1;
	}
	start = 0;
	for (;;) {
		size_t end = tail.find('/', start);
		std::string seg = tail.substr(start, end == std::string::npos ? std::string::npos : end - start);
		FUZZ_CHECK(decode(seg, "", dec), seg, url);
		got.push_back(dec);
		if (end == std::string::npos) break;
		start = end + 1;
	}
	FUZZ_CHECK(got == want, url, r.path);
	return 0;
}
