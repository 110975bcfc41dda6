// The rate-limit headers (RateLimit, RateLimit-Policy, Retry-After) read
// without trusting them, the host pause they ask for, and the Hub answer's
// headers (hub_answer.hpp) that carry them and the file's ETag and size.
#include "hf_fetch/hub_answer.hpp"
#include "hf_fetch/rate_limit_headers.hpp"

#include <gtest/gtest.h>

#include <curl/curl.h>

using namespace pgmlr::hf_fetch;

namespace {
// 1994-11-06 08:49:37 UTC, the RFC's example date.
constexpr int64_t kRfcExample = 784111777;
}  // namespace

TEST(RateLimitHeader, TheHubsDraftHeader) {
	auto items = parse_ratelimit(R"("resolvers";r=0;t=20)");
	ASSERT_EQ(items.size(), 1u);
	EXPECT_EQ(items[0].policy, "resolvers");
	EXPECT_EQ(items[0].remaining, 0);
	EXPECT_EQ(items[0].reset_s, 20);
}

TEST(RateLimitHeader, SeveralPoliciesSpacesAndOlderNames) {
	auto items = parse_ratelimit(R"( "api" ; r=50 ; t=5 , "resolvers";r=0;t=120, remaining=7, reset=9)");
	ASSERT_EQ(items.size(), 4u);
	EXPECT_EQ(items[0].policy, "api");
	EXPECT_EQ(items[0].remaining, 50);
	EXPECT_EQ(items[0].reset_s, 5);
	EXPECT_EQ(items[1].policy, "resolvers");
	EXPECT_EQ(items[1].reset_s, 120);
	EXPECT_EQ(items[2].policy, "");
	EXPECT_EQ(items[2].remaining, 7);  // a draft-07 style "remaining=7, reset=9" gives two items
	EXPECT_EQ(items[2].reset_s, -1);
	EXPECT_EQ(items[3].reset_s, 9);
	EXPECT_EQ(parse_ratelimit(R"("a,b;c";r=1;t=2)")[0].policy, "a,b;c");  // separators inside quotes
}

TEST(RateLimitHeader, MissingPartsAreMinusOne) {
	auto items = parse_ratelimit(R"("resolvers";t=20)");
	ASSERT_EQ(items.size(), 1u);
	EXPECT_EQ(items[0].remaining, -1);
	EXPECT_EQ(items[0].reset_s, 20);
	items = parse_ratelimit(R"("resolvers";r=3)");
	ASSERT_EQ(items.size(), 1u);
	EXPECT_EQ(items[0].reset_s, -1);
	EXPECT_TRUE(parse_ratelimit(R"("resolvers")").empty());  // no parameter: nothing to act on
}

TEST(RateLimitHeader, GarbageGivesNothing) {
	EXPECT_TRUE(parse_ratelimit("").empty());
	EXPECT_TRUE(parse_ratelimit(",,;;").empty());
	EXPECT_TRUE(parse_ratelimit(R"("unterminated;r=0;t=20)").empty());
	auto items = parse_ratelimit(R"("x";r=-1;t=abc)");
	EXPECT_TRUE(items.empty());  // negative and non-numeric values are garbage
	items = parse_ratelimit(R"("x";r=0;t=99999999999999999999)");
	ASSERT_EQ(items.size(), 1u);
	EXPECT_EQ(items[0].reset_s, -1);  // too many digits
	EXPECT_TRUE(parse_ratelimit(std::string(10000, 'r')).empty());
}

TEST(RateLimitPolicyHeader, TheHubsPolicyAndSeveral) {
	auto p = parse_ratelimit_policy(R"("fixed window";"resolvers";q=3000;w=300)");
	ASSERT_EQ(p.size(), 1u);
	EXPECT_EQ(p[0].kind, "fixed window");
	EXPECT_EQ(p[0].policy, "resolvers");
	EXPECT_EQ(p[0].quota, 3000);
	EXPECT_EQ(p[0].window_s, 300);
	p = parse_ratelimit_policy(R"("api";q=100;w=10, "resolvers";q=5000, limit=7;window=60)");
	ASSERT_EQ(p.size(), 3u);
	EXPECT_EQ(p[0].kind, "");
	EXPECT_EQ(p[1].window_s, -1);
	EXPECT_EQ(p[2].quota, 7);
	EXPECT_EQ(p[2].window_s, 60);
	EXPECT_TRUE(parse_ratelimit_policy("garbage").empty());
	EXPECT_TRUE(parse_ratelimit_policy(R"("fixed window";"resolvers")").empty());
}

TEST(RetryAfter, DeltaSecondsAndBothDateForms) {
	EXPECT_EQ(parse_retry_after("120", 0), 120);
	EXPECT_EQ(parse_retry_after(" 0 ", 0), 0);
	EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), kRfcExample);
	EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), kRfcExample);
	EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), kRfcExample);
	EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
	EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", kRfcExample), 60);
	EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kRfcExample + 100), 0);  // past: no wait
}

TEST(RetryAfter, GarbageIsNoWish) {
	for (const char *bad : {"", "  ", "-5", "soon", "12abc", "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
							"Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 94 08:49:37 GMT", "Sun, 6 Nov 1994 08:49 GMT",
							"99999999999999999999"})
		EXPECT_FALSE(parse_retry_after(bad, kRfcExample).has_value()) << bad;
}

TEST(HostPause, A429WaitsForRetryAfterElseTheWindow) {
	RateLimitHeaders h;
	h.ratelimit = R"("resolvers";r=0;t=20)";
	EXPECT_EQ(host_pause_seconds(429, h, 0), 20);
	h.retry_after = "7";
	EXPECT_EQ(host_pause_seconds(429, h, 0), 7);  // Retry-After wins
	h.retry_after = "garbage";
	EXPECT_EQ(host_pause_seconds(429, h, 0), 20);
	h.ratelimit = R"("api";r=10;t=5, "resolvers";r=0;t=30, "x";r=0;t=12)";
	EXPECT_EQ(host_pause_seconds(429, h, 0), 30);  // the longest exhausted window
	h.ratelimit = R"("api";r=10;t=5)";
	EXPECT_EQ(host_pause_seconds(429, h, 0), 5);  // limited although r>0: its reset
	EXPECT_EQ(host_pause_seconds(429, RateLimitHeaders{}, 0), 0);  // no header: the per-file backoff
}

TEST(HostPause, OtherAnswersPauseOnlyWhenExhausted) {
	RateLimitHeaders h;
	h.ratelimit = R"("resolvers";r=0;t=20)";
	EXPECT_EQ(host_pause_seconds(302, h, 0), 20);
	EXPECT_EQ(host_pause_seconds(200, h, 0), 20);
	h.ratelimit = R"("resolvers";r=1;t=20)";
	EXPECT_EQ(host_pause_seconds(200, h, 0), 0);
	h.ratelimit.clear();
	h.retry_after = "30";
	EXPECT_EQ(host_pause_seconds(503, h, 0), 0);  // a 503's Retry-After is the file's backoff
}

TEST(HostPause, BoundedToAnHour) {
	RateLimitHeaders h;
	h.retry_after = "86400";
	EXPECT_EQ(host_pause_seconds(429, h, 0), kMaxHostPauseS);
	h.retry_after.clear();
	h.ratelimit = R"("resolvers";r=0;t=999999)";
	EXPECT_EQ(host_pause_seconds(200, h, 0), kMaxHostPauseS);
}

TEST(HostOf, SchemeHostAndPortInLowerCase) {
	EXPECT_EQ(host_of("https://HuggingFace.co/org/m/resolve/main/x"), "https://huggingface.co");
	EXPECT_EQ(host_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
	EXPECT_EQ(host_of("http://user:pw@Example.org:1/?q#f"), "http://example.org:1");
	EXPECT_EQ(host_of("no scheme"), "");
}

TEST(HubAnswer, TakesTheFirstResponsesHeadersOnly) {
	HubAnswer a;
	a.header_line("HTTP/1.1 302 Found\r\n");
	a.header_line("X-Linked-Etag: \"abc\"\r\n");
	a.header_line("x-linked-size: 1234\r\n");
	a.header_line("ETag: W/\"git\"\r\n");
	a.header_line("RateLimit: \"resolvers\";r=0;t=20\r\n");
	a.header_line("RateLimit-Policy: \"fixed window\";\"resolvers\";q=3000;w=300\r\n");
	a.header_line("HTTP/1.1 200 OK\r\n");  // the CDN
	a.header_line("ETag: \"cdn\"\r\n");
	a.header_line("RateLimit: \"cdn\";r=0;t=900\r\n");
	EXPECT_EQ(a.etag(), "abc");
	EXPECT_EQ(a.size(), 1234);
	EXPECT_EQ(a.limits().ratelimit, "\"resolvers\";r=0;t=20");
	EXPECT_EQ(a.limits().policy, "\"fixed window\";\"resolvers\";q=3000;w=300");
	TransferEnd end;
	a.fill(end, 200, 0);
	EXPECT_EQ(end.http_status, 200);
	EXPECT_EQ(end.host_pause_s, 20);
	EXPECT_EQ(end.remote_etag, "abc");
	EXPECT_EQ(end.remote_size, 1234);
}

TEST(HubAnswer, PlainFileAndA429FromTheCdnIsNotTheHosts) {
	HubAnswer plain;
	plain.header_line("HTTP/2 200\r\n");
	plain.header_line("etag: \"ce01\"\r\n");
	plain.header_line("content-length: 6\r\n");
	EXPECT_EQ(plain.etag(), "ce01");
	EXPECT_EQ(plain.size(), 6);
	HubAnswer cdn;
	cdn.header_line("HTTP/1.1 302 Found\r\n");
	cdn.header_line("HTTP/1.1 429 Too Many Requests\r\n");
	cdn.header_line("Retry-After: 30\r\n");
	TransferEnd end;
	cdn.fill(end, 429, 0);
	EXPECT_EQ(end.host_pause_s, 0);
	HubAnswer hub;
	hub.header_line("HTTP/1.1 429 Too Many Requests\r\n");
	hub.header_line("Retry-After: 30\r\n");
	hub.fill(end, 429, 0);
	EXPECT_EQ(end.host_pause_s, 30);
	EXPECT_EQ(end.remote_size, -1);
	EXPECT_EQ(bare_etag(" W/\"x\" "), "x");
}

TEST(HubProbeEnd, RedirectsAndOkAreAnswers) {
	EXPECT_EQ(hub_probe_end(CURLE_OK, 302, 0, "u").kind, TransferEnd::Kind::complete);
	EXPECT_EQ(hub_probe_end(CURLE_OK, 200, 0, "u").kind, TransferEnd::Kind::complete);
	EXPECT_EQ(hub_probe_end(CURLE_OK, 404, 0, "u").kind, TransferEnd::Kind::fail);
	EXPECT_EQ(hub_probe_end(CURLE_OK, 429, 0, "u").kind, TransferEnd::Kind::retry);
	EXPECT_EQ(hub_probe_end(CURLE_COULDNT_CONNECT, 0, 0, "u").kind, TransferEnd::Kind::retry);
}
