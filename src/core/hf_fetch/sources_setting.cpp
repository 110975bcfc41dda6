// Implements hf_fetch/sources_setting.hpp: the hf_sources list.
#include "common/core_only.hpp"
#include "hf_fetch/sources_setting.hpp"

#include <algorithm>

namespace pgmlr::hf_fetch {

namespace {

const char kHint[] = "List \"upstream\" and \"hub\", comma-separated, each at most once, e.g. \"upstream, hub\".";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string trimmed_lower(const std::string &s) {
	size_t b = 0, e = s.size();
	while (b < e && is_space(s[b])) ++b;
	while (e > b && is_space(s[e - 1])) --e;
	std::string out = s.substr(b, e - b);
	for (char &c : out)
		if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
	return out;
}

Error invalid(std::string message) {
	return make_error(ErrCode::InvalidParameter, std::move(message), {}, kHint);
}

}  // namespace

Result<std::vector<SourceKind>> parse_fetch_sources(const std::string &text) {
	std::vector<SourceKind> out;
	if (trimmed_lower(text).empty()) return invalid("hf_sources lists no source");
	size_t from = 0;
	while (true) {
		size_t comma = text.find(',', from);
		std::string item = trimmed_lower(text.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
		SourceKind kind;
		if (item == "upstream") kind = SourceKind::upstream;
		else if (item == "hub") kind = SourceKind::hub;
		else if (item.empty()) return invalid("hf_sources has an empty item");
		else if (item.size() > 40) return invalid("hf_sources has an unknown source");
		else return invalid("hf_sources has an unknown source \"" + item + "\"");
		if (std::find(out.begin(), out.end(), kind) != out.end())
			return invalid("hf_sources lists \"" + item + "\" twice");
		out.push_back(kind);
		if (comma == std::string::npos) break;
		from = comma + 1;
	}
	return out;
}

}  // namespace pgmlr::hf_fetch
