// Where a replica's worker fetches blobs from (pgml_repl/fetch_sources.h):
// the hf_sources list, the upstream conninfo derived from primary_conninfo
// (keyword and URI forms, quoting, what is kept and dropped, errors that
// never show the password), the label, and the ping against a closed port,
// a server that never answers (timeout, abort) and its classified failures.
#include "hf_fetch/sources_setting.hpp"
#include "hf_fetch/upstream_conninfo.hpp"
#include "hf_fetch/upstream_ping.hpp"
#include "pgml_repl/fetch_sources.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../silent_server.hpp"

using namespace pgmlr::hf_fetch;
using Clock = std::chrono::steady_clock;

namespace {

bool has(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

std::vector<SourceKind> parsed(const std::string &text) {
	auto r = parse_fetch_sources(text);
	EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().message);
	return r ? *r : std::vector<SourceKind>{};
}

TEST(FetchSources, AcceptedLists) {
	using V = std::vector<SourceKind>;
	EXPECT_EQ(parsed("upstream, hub"), (V{SourceKind::upstream, SourceKind::hub}));
	EXPECT_EQ(parsed("hub"), (V{SourceKind::hub}));
	EXPECT_EQ(parsed("upstream"), (V{SourceKind::upstream}));
	EXPECT_EQ(parsed("  HUB ,\tUpStream  "), (V{SourceKind::hub, SourceKind::upstream}));
	EXPECT_EQ(parsed("hub,upstream"), (V{SourceKind::hub, SourceKind::upstream}));
}

TEST(FetchSources, RejectedLists) {
	for (const char *bad : {"", "   ", "hub,hub", "Hub, HUB", "upstream, hub, upstream", "ftp", "hub, ftp", "hub,",
							",hub", "hub,,upstream", "hub upstream", "hub;upstream"}) {
		auto r = parse_fetch_sources(bad);
		ASSERT_FALSE(r) << "'" << bad << "'";
		EXPECT_EQ(r.error().code, pgmlr::ErrCode::InvalidParameter) << bad;
		EXPECT_TRUE(has(r.error().hint, "\"upstream\"") && has(r.error().hint, "\"hub\"")) << r.error().hint;
	}
	EXPECT_TRUE(has(parse_fetch_sources("hub, FTP").error().message, "\"ftp\""));
	EXPECT_TRUE(has(parse_fetch_sources("hub, hub").error().message, "twice"));
}

TEST(FetchSources, ThroughTheCInterface) {
	pgmlr_fetch_source_list list{};
	pgmlr_status st;
	ASSERT_TRUE(pgmlr_fetch_sources_parse("upstream, hub", &list, &st)) << st.message;
	EXPECT_EQ(st.code, PGMLR_OK);
	ASSERT_EQ(list.count, 2);
	EXPECT_EQ(list.kinds[0], PGMLR_SOURCE_UPSTREAM);
	EXPECT_EQ(list.kinds[1], PGMLR_SOURCE_HUB);
	ASSERT_TRUE(pgmlr_fetch_sources_parse("Hub", &list, &st));
	ASSERT_EQ(list.count, 1);
	EXPECT_EQ(list.kinds[0], PGMLR_SOURCE_HUB);

	EXPECT_FALSE(pgmlr_fetch_sources_parse("hub, nowhere", &list, &st));
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_PARAMETER);
	EXPECT_TRUE(has(st.message, "nowhere")) << st.message;
	EXPECT_TRUE(has(st.hint, "upstream")) << st.hint;
	EXPECT_FALSE(pgmlr_fetch_sources_parse(nullptr, &list, &st));
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_PARAMETER);
}

TEST(UpstreamConninfo, QuotesAsLibpqReads) {
	EXPECT_EQ(conninfo_quote("plain"), "'plain'");
	EXPECT_EQ(conninfo_quote(""), "''");
	EXPECT_EQ(conninfo_quote("a b"), "'a b'");
	EXPECT_EQ(conninfo_quote("it's"), "'it\\'s'");
	EXPECT_EQ(conninfo_quote("back\\slash"), "'back\\\\slash'");
}

std::string derived(const std::string &primary, const std::string &db = "pgml",
					const std::string &app = "pgml_replication fetch") {
	auto r = upstream_conninfo_from_primary(primary, db, app);
	EXPECT_TRUE(r) << (r ? "" : r.error().message + ": " + r.error().detail);
	return r ? *r : std::string();
}

TEST(UpstreamConninfo, KeywordForm) {
	std::string out = derived(
		"host=primary port=5433 user=rep password=s3cret passfile=/var/lib/pg/.pgpass sslmode=verify-full "
		"sslrootcert=/etc/ca.pem target_session_attrs=read-write replication=database dbname=olddb "
		"application_name=walreceiver options='-c work_mem=1MB' connect_timeout=5 keepalives_idle=30 "
		"gssencmode=disable krbsrvname=postgres channel_binding=prefer tcp_user_timeout=1000");
	EXPECT_EQ(out,
			  "host='primary' port='5433' user='rep' password='s3cret' passfile='/var/lib/pg/.pgpass' "
			  "channel_binding='prefer' connect_timeout='5' keepalives_idle='30' tcp_user_timeout='1000' "
			  "sslmode='verify-full' sslrootcert='/etc/ca.pem' gssencmode='disable' krbsrvname='postgres' "
			  "target_session_attrs='read-write' dbname='pgml' "
			  "application_name='pgml_replication fetch'");
	EXPECT_FALSE(has(out, "replication='") || has(out, "olddb") || has(out, "walreceiver") || has(out, "work_mem"));
	// Read back by libpq, the derived text derives itself.
	EXPECT_EQ(derived(out), out);
}

TEST(UpstreamConninfo, UriForm) {
	EXPECT_EQ(derived("postgresql://rep:s3cret@primary.example:6543/olddb?sslmode=require&replication=database"
					  "&application_name=walreceiver"),
			  "host='primary.example' port='6543' user='rep' password='s3cret' sslmode='require' dbname='pgml' "
			  "application_name='pgml_replication fetch'");
	EXPECT_EQ(derived("postgres://[::1]:5432,replica2:5433/x", "db", ""),
			  "host='::1,replica2' port='5432,5433' dbname='db'");
	// A socket folder is a host too.
	EXPECT_EQ(derived("host=/var/run/postgresql user=rep", "db", ""), "host='/var/run/postgresql' user='rep' dbname='db'");
	EXPECT_EQ(derived("hostaddr=10.0.0.5 user=rep", "db", ""), "hostaddr='10.0.0.5' user='rep' dbname='db'");
}

TEST(UpstreamConninfo, QuotedValuesSurvive) {
	std::string out = derived(R"(host=primary user='fetch er' password='a b\'c\\d')", "my db", "app's");
	EXPECT_EQ(out, R"(host='primary' user='fetch er' password='a b\'c\\d' dbname='my db' application_name='app\'s')");
	EXPECT_EQ(derived(out, "my db", "app's"), out);
	// The URI's percent-encoding is decoded, then quoted.
	EXPECT_EQ(derived("postgresql://rep:p%27w%20d@primary/x", "db", ""),
			  R"(host='primary' user='rep' password='p\'w d' dbname='db')");
}

TEST(UpstreamConninfo, ErrorsNeverShowThePassword) {
	struct Case {
		const char *primary;
		const char *message;
	} cases[] = {
		{"port=5432 user=rep password=s3cret", "primary_conninfo names no host"},
		{"postgresql://rep:s3cret@/db", "primary_conninfo names no host"},
		{"", "primary_conninfo is empty"},
		{"host=x password=s3cret nonsense", "primary_conninfo does not parse"},
		{"host=x password=my s3cret port=1", "primary_conninfo does not parse"},
		{"host=x bogus=1 password=s3cret", "primary_conninfo does not parse"},
		{"host=x password='s3cret", "primary_conninfo does not parse"},
		{"postgresql://rep:s3cret@[::1/db", "primary_conninfo does not parse"},
		{"postgresql://rep:s3cret@primary/db?x%zz=1", "primary_conninfo does not parse"},
		{"postgresql://rep:s3cret@primary/db?nonsense=s3cret", "primary_conninfo does not parse"},
	};
	for (const Case &c : cases) {
		auto r = upstream_conninfo_from_primary(c.primary, "pgml", "");
		ASSERT_FALSE(r) << c.primary;
		const pgmlr::Error &e = r.error();
		EXPECT_EQ(e.code, pgmlr::ErrCode::InvalidParameter);
		EXPECT_EQ(e.message, c.message) << c.primary;
		EXPECT_FALSE(has(e.message + e.detail + e.hint, "s3cret")) << c.primary << " -> " << e.detail;
		EXPECT_FALSE(e.hint.empty());
	}
	// Without a password to hide, libpq's word for what it did not take is kept.
	auto r = upstream_conninfo_from_primary("host=x bogus=1", "pgml", "");
	ASSERT_FALSE(r);
	EXPECT_TRUE(has(r.error().detail, "\"bogus\"")) << r.error().detail;
	EXPECT_FALSE(upstream_conninfo_from_primary("host=x", "", ""));
}

TEST(UpstreamConninfo, ThroughTheCInterface) {
	pgmlr_status st;
	char *c = pgmlr_upstream_conninfo_from_primary("host=h port=6000 password=pw replication=true", "pgml", "app", &st);
	ASSERT_NE(c, nullptr) << st.message;
	EXPECT_STREQ(c, "host='h' port='6000' password='pw' dbname='pgml' application_name='app'");
	char *label = pgmlr_upstream_label(c, &st);
	ASSERT_NE(label, nullptr);
	EXPECT_STREQ(label, "upstream h:6000");
	pgmlr_free(label);
	pgmlr_free(c);

	c = pgmlr_upstream_conninfo_from_primary("user=u password=pw", "pgml", nullptr, &st);
	EXPECT_EQ(c, nullptr);
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_PARAMETER);
	EXPECT_STREQ(st.message, "primary_conninfo names no host");
	c = pgmlr_upstream_conninfo_from_primary(nullptr, "pgml", nullptr, &st);
	EXPECT_EQ(c, nullptr);
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_PARAMETER);

	label = pgmlr_upstream_label("host='unterminated password=pw", &st);
	ASSERT_NE(label, nullptr);
	EXPECT_STREQ(label, "");
	pgmlr_free(label);
}

// A loopback port nobody listens on: bind one, note it, close it.
int closed_port() {
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	sockaddr_in a{};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a), 0);
	socklen_t len = sizeof a;
	getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
	close(fd);
	return ntohs(a.sin_port);
}

long ms_since(Clock::time_point t) {
	return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

TEST(UpstreamPing, ClosedPortFailsQuicklyNamingTheUpstream) {
	int port = closed_port();
	std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port) + " user=rep password=s3cret dbname=pgml";
	volatile sig_atomic_t abort_flag = 0;
	pgmlr_status st;
	auto t0 = Clock::now();
	EXPECT_FALSE(pgmlr_upstream_ping(conninfo.c_str(), 5000, &abort_flag, &st));
	EXPECT_LT(ms_since(t0), 2000);
	EXPECT_EQ(st.code, PGMLR_ERR_IO);
	EXPECT_EQ(std::string(st.message), "upstream 127.0.0.1:" + std::to_string(port) + ": connection failed");
	EXPECT_TRUE(has(st.detail, "refused")) << st.detail;
	EXPECT_FALSE(has(std::string(st.message) + st.detail + st.hint, "s3cret"));
	EXPECT_FALSE(std::string(st.hint).empty());
}

TEST(UpstreamPing, AbortFlagSetBeforeIsCanceled) {
	int port = closed_port();
	std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port) + " dbname=pgml";
	volatile sig_atomic_t abort_flag = 1;
	pgmlr_status st;
	EXPECT_FALSE(pgmlr_upstream_ping(conninfo.c_str(), 5000, &abort_flag, &st));
	EXPECT_EQ(st.code, PGMLR_ERR_CANCELED);
	EXPECT_TRUE(has(st.message, "upstream 127.0.0.1:")) << st.message;
}

TEST(UpstreamPing, SilentServerTimesOut) {
	SilentServer server;
	ASSERT_GT(server.port, 0);
	std::string conninfo = "host=127.0.0.1 port=" + std::to_string(server.port) + " sslmode=disable dbname=pgml";
	pgmlr_status st;
	auto t0 = Clock::now();
	EXPECT_FALSE(pgmlr_upstream_ping(conninfo.c_str(), 300, nullptr, &st));
	long took = ms_since(t0);
	EXPECT_GE(took, 250);
	EXPECT_LT(took, 1500);
	EXPECT_EQ(st.code, PGMLR_ERR_IO);
	EXPECT_TRUE(has(st.message, "no answer within 300 ms")) << st.message;
}

TEST(UpstreamPing, AbortFlagSetWhileWaitingIsSeenWithinASlice) {
	SilentServer server;
	ASSERT_GT(server.port, 0);
	std::string conninfo = "host=127.0.0.1 port=" + std::to_string(server.port) + " dbname=pgml";
	static volatile sig_atomic_t abort_flag;
	abort_flag = 0;
	std::thread setter([] {
		std::this_thread::sleep_for(std::chrono::milliseconds(300));
		abort_flag = 1;
	});
	pgmlr_status st;
	auto t0 = Clock::now();
	bool ok = pgmlr_upstream_ping(conninfo.c_str(), 20000, &abort_flag, &st);
	long took = ms_since(t0);
	setter.join();
	EXPECT_FALSE(ok);
	EXPECT_EQ(st.code, PGMLR_ERR_CANCELED) << st.message;
	EXPECT_GE(took, 250);
	EXPECT_LT(took, 1500);
}

TEST(UpstreamPing, RejectedConninfo) {
	pgmlr_status st;
	EXPECT_FALSE(pgmlr_upstream_ping("host=x password=my s3cret", 1000, nullptr, &st));
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_PARAMETER);
	EXPECT_FALSE(has(std::string(st.message) + st.detail, "s3cret")) << st.detail;
}

const std::string kL = "upstream primary:5432";

TEST(UpstreamPing, ConnectionFailuresClassified) {
	for (const char *m : {"connection to server at \"10.0.0.5\", port 5432 failed: FATAL:  no pg_hba.conf entry for "
						  "host \"10.0.0.9\", user \"rep\", database \"pgml\", SSL encryption\n",
						  "FATAL:  role \"rep\" does not exist"}) {
		pgmlr::Error e = ping_connection_error(kL, "rep", m);
		EXPECT_EQ(e.code, pgmlr::ErrCode::Permission) << m;
		EXPECT_EQ(e.message, kL + ": login refused");
		EXPECT_TRUE(has(e.hint, "pg_hba.conf")) << e.hint;
		EXPECT_TRUE(has(e.hint, "allow_blob_fetch(") && has(e.hint, "'rep')")) << e.hint;
		EXPECT_TRUE(has(e.hint, "create_replication_user")) << e.hint;
		EXPECT_LT(e.hint.size(), 512u);
	}
	pgmlr::Error e = ping_connection_error(kL, "rep", "FATAL:  password authentication failed for user \"rep\"");
	EXPECT_EQ(e.code, pgmlr::ErrCode::Permission);
	EXPECT_EQ(e.message, kL + ": login refused");
	EXPECT_TRUE(has(e.hint, "password of primary_conninfo")) << e.hint;
	e = ping_connection_error(kL, "rep", "FATAL:  database \"pgml\" does not exist\n");
	EXPECT_EQ(e.code, pgmlr::ErrCode::NotFound);
	EXPECT_TRUE(has(e.hint, "pgml_replication.database"));
	EXPECT_EQ(e.detail.back(), 't');
	e = ping_connection_error(kL, "rep", "could not translate host name \"primary\" to address");
	EXPECT_EQ(e.code, pgmlr::ErrCode::Io);
	EXPECT_EQ(e.message, kL + ": connection failed");
}

TEST(UpstreamPing, QueryAnswersClassified) {
	for (const char *state : {"42883", "3F000"}) {
		pgmlr::Error e = ping_query_error(kL, state, "ERROR:  schema \"pgml_repl\" does not exist\n");
		EXPECT_EQ(e.code, pgmlr::ErrCode::NotFound) << state;
		EXPECT_EQ(e.message, kL + ": pgml_replication is not installed in that database");
		EXPECT_TRUE(has(e.hint, "CREATE EXTENSION pgml_replication"));
	}
	pgmlr::Error e = ping_query_error(kL, "57014", "canceling statement due to statement timeout");
	EXPECT_EQ(e.code, pgmlr::ErrCode::Io);
	EXPECT_TRUE(has(e.message, "57014"));
	e = ping_no_privilege(kL, "o'brien");
	EXPECT_EQ(e.code, pgmlr::ErrCode::Permission);
	EXPECT_EQ(e.message, kL + ": role \"o'brien\" may not run pgml_repl.hf_blob_read_rows");
	EXPECT_TRUE(has(e.hint, "allow_blob_fetch(role_name => 'o''brien')")) << e.hint;
}

}  // namespace
