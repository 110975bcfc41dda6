// Implements hf_fetch/rate_limit_headers.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "common/text.hpp"
#include "hf_fetch/rate_limit_headers.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace pgmlr::hf_fetch {
namespace {

// Splits at sep outside double quotes (a backslash escapes inside them).
std::vector<std::string_view> split_outside_quotes(std::string_view s, char sep) {
	std::vector<std::string_view> out;
	bool quoted = false;
	size_t begin = 0;
	for (size_t i = 0; i < s.size(); ++i) {
		char c = s[i];
		if (quoted && c == '\\') {
			++i;
		} else if (c == '"') {
			quoted = !quoted;
		} else if (!quoted && c == sep) {
			out.push_back(s.substr(begin, i - begin));
			begin = i + 1;
		}
	}
	out.push_back(s.substr(begin));
	return out;
}

// A non-negative integer of at most 15 digits (a structured-field
// integer), optionally quoted; -1 otherwise.
int64_t integer(std::string_view v) {
	v = trim(v);
	if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
	if (v.empty() || v.size() > 15) return -1;
	int64_t n = 0;
	for (char c : v) {
		if (c < '0' || c > '9') return -1;
		n = n * 10 + (c - '0');
	}
	return n;
}

std::string unquote(std::string_view v) {
	std::string out;
	for (size_t i = 1; i + 1 < v.size(); ++i) {
		if (v[i] == '\\' && i + 2 < v.size()) ++i;
		out.push_back(v[i]);
	}
	return out;
}

// One item: its quoted names in order and its key=value parameters.
struct Item {
	std::vector<std::string> names;
	std::vector<std::pair<std::string, int64_t>> params;
	int64_t get(std::initializer_list<const char *> keys) const {
		for (const auto &[k, v] : params)
			for (const char *want : keys)
				if (k == want) return v;
		return -1;
	}
};

std::vector<Item> items(std::string_view value) {
	std::vector<Item> out;
	if (value.size() > 8192) return out;  // no server sends that much; refuse to scan it
	for (std::string_view raw : split_outside_quotes(value, ',')) {
		Item item;
		for (std::string_view member : split_outside_quotes(raw, ';')) {
			member = trim(member);
			if (member.empty()) continue;
			size_t eq = member.find('=');
			if (member.front() == '"') {
				if (member.size() >= 2 && member.back() == '"') item.names.push_back(unquote(member));
			} else if (eq == std::string_view::npos) {
				item.names.emplace_back(member);  // a bare token names the policy too
			} else {
				item.params.emplace_back(to_lower_ascii(trim(member.substr(0, eq))), integer(member.substr(eq + 1)));
			}
		}
		out.push_back(std::move(item));
	}
	return out;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int month_of(std::string_view s) {
	static const std::array<const char *, 12> names = {"jan", "feb", "mar", "apr", "may", "jun",
													   "jul", "aug", "sep", "oct", "nov", "dec"};
	std::string l = to_lower_ascii(s);
	for (size_t i = 0; i < names.size(); ++i)
		if (l == names[i]) return static_cast<int>(i) + 1;
	return 0;
}

bool clock_of(std::string_view s, int64_t *secs) {
	if (s.size() != 8 || s[2] != ':' || s[5] != ':') return false;
	int64_t h = integer(s.substr(0, 2)), m = integer(s.substr(3, 2)), x = integer(s.substr(6, 2));
	if (h < 0 || h > 23 || m < 0 || m > 59 || x < 0 || x > 60) return false;
	*secs = h * 3600 + m * 60 + x;
	return true;
}

std::vector<std::string_view> words(std::string_view s) {
	std::vector<std::string_view> out;
	size_t i = 0;
	while (i < s.size()) {
		while (i < s.size() && s[i] == ' ') ++i;
		size_t b = i;
		while (i < s.size() && s[i] != ' ') ++i;
		if (i > b) out.push_back(s.substr(b, i - b));
	}
	return out;
}

}  // namespace

std::vector<RateLimitItem> parse_ratelimit(std::string_view value) {
	std::vector<RateLimitItem> out;
	for (const Item &i : items(value)) {
		RateLimitItem r;
		r.policy = i.names.empty() ? "" : i.names.back();
		r.remaining = i.get({"r", "remaining"});
		r.reset_s = i.get({"t", "reset"});
		if (r.remaining >= 0 || r.reset_s >= 0) out.push_back(std::move(r));
	}
	return out;
}

std::vector<RateLimitPolicyItem> parse_ratelimit_policy(std::string_view value) {
	std::vector<RateLimitPolicyItem> out;
	for (const Item &i : items(value)) {
		RateLimitPolicyItem p;
		p.policy = i.names.empty() ? "" : i.names.back();
		p.kind = i.names.size() >= 2 ? i.names[i.names.size() - 2] : "";
		p.quota = i.get({"q", "limit"});
		p.window_s = i.get({"w", "window"});
		if (p.quota >= 0 || p.window_s >= 0) out.push_back(std::move(p));
	}
	return out;
}

std::optional<int64_t> parse_http_date(std::string_view value) {
	std::string s(trim(value));
	if (s.empty() || s.size() > 64) return std::nullopt;
	// Drop the weekday: "Sun," / "Sunday," / "Sun " (asctime).
	size_t cut = s.find_first_of(", ");
	if (cut == std::string::npos) return std::nullopt;
	std::string rest = s.substr(cut + 1);
	std::vector<std::string_view> w;
	int64_t year = -1, month = 0, day = -1, secs = 0;
	std::string_view clock;
	bool rfc850 = rest.find('-') != std::string::npos;
	if (rfc850) std::replace(rest.begin(), rest.end(), '-', ' ');
	w = words(rest);
	if (w.size() == 5 && w[4] == "GMT") {  // IMF-fixdate or RFC 850
		day = integer(w[0]);
		month = month_of(w[1]);
		year = integer(w[2]);
		clock = w[3];
		if (rfc850 && w[2].size() == 2 && year >= 0) year += year < 70 ? 2000 : 1900;
		else if (w[2].size() != 4) return std::nullopt;
	} else if (w.size() == 4 && !rfc850) {  // asctime: "Nov  6 08:49:37 1994"
		month = month_of(w[0]);
		day = integer(w[1]);
		clock = w[2];
		year = w[3].size() == 4 ? integer(w[3]) : -1;
	} else {
		return std::nullopt;
	}
	if (year < 1970 || month == 0 || day < 1 || day > 31 || !clock_of(clock, &secs)) return std::nullopt;
	return days_from_civil(year, month, day) * 86400 + secs;
}

std::optional<int64_t> parse_retry_after(std::string_view value, int64_t now_unix) {
	std::string_view v = trim(value);
	if (v.empty()) return std::nullopt;
	if (std::isdigit(static_cast<unsigned char>(v.front()))) {
		int64_t n = integer(v);
		if (n < 0) return std::nullopt;
		return n;
	}
	std::optional<int64_t> at = parse_http_date(v);
	if (!at) return std::nullopt;
	return std::max<int64_t>(0, *at - now_unix);
}

int64_t host_pause_seconds(long http_status, const RateLimitHeaders &h, int64_t now_unix) {
	int64_t exhausted = -1, any_reset = -1;
	for (const RateLimitItem &i : parse_ratelimit(h.ratelimit)) {
		if (i.reset_s < 0) continue;
		any_reset = std::max(any_reset, i.reset_s);
		if (i.remaining == 0) exhausted = std::max(exhausted, i.reset_s);
	}
	int64_t wait = 0;
	if (http_status == 429) {
		if (std::optional<int64_t> ra = parse_retry_after(h.retry_after, now_unix))
			wait = *ra;
		else if (exhausted >= 0)
			wait = exhausted;
		else if (any_reset >= 0)
			wait = any_reset;
	} else if (exhausted >= 0) {
		wait = exhausted;
	}
	return std::clamp<int64_t>(wait, 0, kMaxHostPauseS);
}

std::string host_of(std::string_view url) {
	size_t scheme_end = url.find("://");
	if (scheme_end == std::string_view::npos || scheme_end == 0) return {};
	std::string_view rest = url.substr(scheme_end + 3);
	rest = rest.substr(0, rest.find_first_of("/?#"));
	if (size_t at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
	return to_lower_ascii(url.substr(0, scheme_end)) + "://" + to_lower_ascii(rest);
}

}  // namespace pgmlr::hf_fetch
