// The libcurl options every request to the Hub shares (downloads in
// hub_source.cpp, API calls in hub_api.cpp), in one place so both follow
// the same redirect, protocol and certificate rules.
#pragma once
#include "common/core_only.hpp"

#include <string>

#include <curl/curl.h>

namespace pgmlr::hf_fetch {

// A cross-host redirect keeps CURLOPT_UNRESTRICTED_AUTH off, so libcurl
// drops the Authorization header there (the token stays with the Hub).
inline void set_hub_request_options(CURL *e, const std::string &url, const std::string &ca_file) {
	curl_easy_setopt(e, CURLOPT_URL, url.c_str());
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (!ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, ca_file.c_str());
	curl_easy_setopt(e, CURLOPT_USERAGENT, "pgml_replication/0.1");
}

}  // namespace pgmlr::hf_fetch
