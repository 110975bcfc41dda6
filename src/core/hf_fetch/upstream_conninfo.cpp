// Implements hf_fetch/upstream_conninfo.hpp: the blob-fetching conninfo from
// primary_conninfo (through libpq's PQconninfoParse, so keyword/value text and
// URIs both work) and libpq's parse errors scrubbed of the input's values.
#include "common/core_only.hpp"
#include "hf_fetch/upstream_conninfo.hpp"

#include <algorithm>
#include <iterator>
#include <memory>
#include <set>

#include <libpq-fe.h>

namespace pgmlr::hf_fetch {

namespace {

struct OptionsFree {
	void operator()(PQconninfoOption *o) const { PQconninfoFree(o); }
};
using OptionsPtr = std::unique_ptr<PQconninfoOption, OptionsFree>;

bool starts_with(const std::string &s, const char *prefix) { return s.rfind(prefix, 0) == 0; }

std::string lower(std::string s) {
	for (char &c : s)
		if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
	return s;
}

bool bare_word(const std::string &s) {
	if (s.empty()) return false;
	for (char c : s)
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
	return true;
}

// libpq's own keywords (host, sslmode, ...), from PQconndefaults.
const std::set<std::string> &libpq_keywords() {
	static const std::set<std::string> words = [] {
		std::set<std::string> w;
		OptionsPtr d(PQconndefaults());
		if (d)
			for (PQconninfoOption *o = d.get(); o->keyword; ++o) w.insert(o->keyword);
		return w;
	}();
	return words;
}

const char kHint[] =
	"Set primary_conninfo to a libpq connection string with a host, e.g. host=primary port=5432 user=replication_user.";

}  // namespace

bool kept_from_primary(const std::string &k) {
	static const std::set<std::string> exact = {"host",		  "hostaddr",		  "port",
												"user",		  "password",		  "passfile",
												"krbsrvname", "channel_binding",  "target_session_attrs",
												"connect_timeout", "tcp_user_timeout"};
	return exact.count(k) || starts_with(k, "ssl") || starts_with(k, "gss") || starts_with(k, "keepalives");
}

std::string conninfo_quote(const std::string &value) {
	std::string out = "'";
	for (char c : value) {
		if (c == '\'' || c == '\\') out += '\\';
		out += c;
	}
	out += '\'';
	return out;
}

std::string scrub_conninfo_error(const std::string &libpq_message, const std::string &conninfo) {
	std::string text = libpq_message;
	while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
	std::string lc = lower(conninfo);
	bool secret = lc.find("password") != std::string::npos || lc.find('@') != std::string::npos;
	std::string out;
	size_t pos = 0;
	while (true) {
		size_t open = text.find('"', pos);
		size_t close = open == std::string::npos ? std::string::npos : text.find('"', open + 1);
		if (close == std::string::npos) {
			// An unpaired quote: whatever follows it may be the input.
			out += open == std::string::npos ? text.substr(pos) : text.substr(pos, open - pos) + "\"...";
			break;
		}
		std::string piece = text.substr(open + 1, close - open - 1);
		bool keep = libpq_keywords().count(piece) || (piece.size() == 1 && !bare_word(piece)) ||
					(!secret && bare_word(piece) && piece.size() <= 64);
		out += text.substr(pos, open - pos) + "\"" + (keep ? piece : "...") + "\"";
		pos = close + 1;
	}
	return out;
}

Result<std::string> upstream_conninfo_from_primary(const std::string &primary_conninfo, const std::string &database,
												   const std::string &application_name) {
	if (primary_conninfo.find_first_not_of(" \t\r\n") == std::string::npos)
		return make_error(ErrCode::InvalidParameter, "primary_conninfo is empty",
						  "A replica fetches blobs from the server it replicates from, found through primary_conninfo.",
						  kHint);
	if (database.empty())
		return make_error(ErrCode::InvalidParameter, "no database to fetch blobs from",
						  {}, "Set pgml_replication.database to the database pgml_replication is installed in.");
	char *err = nullptr;
	OptionsPtr opts(PQconninfoParse(primary_conninfo.c_str(), &err));
	if (!opts) {
		std::string why = err ? scrub_conninfo_error(err, primary_conninfo) : std::string("out of memory");
		if (err) PQfreemem(err);
		return make_error(ErrCode::InvalidParameter, "primary_conninfo does not parse", why, kHint);
	}
	// Where and who first, for a reader; the rest in libpq's order.
	static const char *const kFirst[] = {"host", "hostaddr", "port", "user"};
	std::string out;
	bool has_host = false;
	auto add = [&out](const std::string &k, const char *v) { out += (out.empty() ? "" : " ") + k + "=" + conninfo_quote(v); };
	for (size_t i = 0; i < std::size(kFirst); ++i)
		for (PQconninfoOption *o = opts.get(); o->keyword; ++o)
			if (o->val && std::string(o->keyword) == kFirst[i]) {
				add(kFirst[i], o->val);
				if (i < 2 && *o->val) has_host = true;  // host or hostaddr
			}
	for (PQconninfoOption *o = opts.get(); o->keyword; ++o) {
		std::string k = o->keyword;
		if (!o->val || !kept_from_primary(k) || std::find(std::begin(kFirst), std::end(kFirst), k) != std::end(kFirst))
			continue;
		add(k, o->val);
	}
	if (!has_host)
		return make_error(ErrCode::InvalidParameter, "primary_conninfo names no host",
						  "The blob fetching connection goes to the host of primary_conninfo.", kHint);
	out += " dbname=" + conninfo_quote(database);
	if (!application_name.empty()) out += " application_name=" + conninfo_quote(application_name);
	return out;
}

}  // namespace pgmlr::hf_fetch
