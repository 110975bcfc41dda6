// The HuggingFace environment: cache folder, token, endpoint (hub_env.hpp).
#include "common/core_only.hpp"
#include "hf_cache/hub_env.hpp"

#include "common/text.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pgmlr::hf {

namespace {

std::string join(const std::string &a, const char *b) {
	if (a.empty() || a.back() == '/') return a + b;
	return a + "/" + b;
}

// The file's first 511 bytes, trailing line breaks and spaces dropped.
std::optional<std::string> read_token_file(const std::string &path) {
	std::FILE *f = std::fopen(path.c_str(), "r");
	if (!f) return std::nullopt;
	char buf[512];
	size_t n = std::fread(buf, 1, sizeof buf - 1, f);
	std::fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) --n;
	if (n == 0) return std::nullopt;
	return std::string(buf, n);
}

}  // namespace

std::optional<std::string> process_env(const char *name) {
	const char *v = std::getenv(name);
	if (!v || !*v) return std::nullopt;
	return std::string(v);
}

std::string expand_home(const std::string &p, const EnvLookup &env) {
	if (p == "~" || starts_with(p, "~/")) {
		if (auto home = env("HOME")) return *home + p.substr(1);
	}
	return p;
}

std::string default_cache_dir(const std::string &configured, const EnvLookup &env) {
	if (!configured.empty()) return expand_home(configured, env);
	if (auto v = env("HF_HUB_CACHE")) return expand_home(*v, env);
	if (auto v = env("HUGGINGFACE_HUB_CACHE")) return expand_home(*v, env);
	if (auto v = env("HF_HOME")) return join(expand_home(*v, env), "hub");
	if (auto v = env("XDG_CACHE_HOME")) return join(expand_home(*v, env), "huggingface/hub");
	if (auto v = env("HOME")) return join(*v, ".cache/huggingface/hub");
	return {};
}

std::optional<std::string> token_file_path(const EnvLookup &env) {
	if (auto v = env("HF_TOKEN_PATH")) return expand_home(*v, env);
	if (auto v = env("HF_HOME")) return join(expand_home(*v, env), "token");
	if (auto v = env("XDG_CACHE_HOME")) return join(expand_home(*v, env), "huggingface/token");
	if (auto v = env("HOME")) return join(*v, ".cache/huggingface/token");
	return std::nullopt;
}

std::optional<std::string> hub_token(const std::string &configured, const EnvLookup &env) {
	if (!configured.empty()) return configured;
	if (auto v = env("HF_TOKEN")) return v;
	if (auto v = env("HUGGING_FACE_HUB_TOKEN")) return v;
	if (auto path = token_file_path(env)) return read_token_file(*path);
	return std::nullopt;
}

bool token_is_printable(std::string_view token) {
	for (unsigned char c : token)
		if (c <= 0x20 || c >= 0x7f) return false;
	return true;
}

std::optional<std::string> endpoint_problem(std::string_view v) {
	if (v.empty()) return std::nullopt;
	if (!starts_with(v, "https://") && !starts_with(v, "http://"))
		return std::string("The endpoint must be an http:// or https:// URL, like https://huggingface.co.");
	for (unsigned char c : v)
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\'' || c == '\\')
			return std::string("The endpoint must not contain spaces, quotes, backslashes or non-ASCII bytes.");
	std::string_view host = v.substr(v.find("://") + 3);
	if (host.empty() || host.front() == '/' || host.front() == ':' || v.find_first_of("?#") != std::string_view::npos)
		return std::string(
			"The endpoint is a scheme and a host, with an optional port and path, like http://127.0.0.1:8080.");
	return std::nullopt;
}

Result<std::string> hub_endpoint(const std::string &configured, const EnvLookup &env) {
	if (!configured.empty()) {
		if (auto problem = endpoint_problem(configured))
			return make_error(ErrCode::InvalidParameter, "pgml_replication.hf_endpoint is not a valid Hub endpoint",
							  *problem + " The value is \"" + configured + "\".");
		return configured;
	}
	if (auto v = env("HF_ENDPOINT")) {
		if (auto problem = endpoint_problem(*v))
			return make_error(ErrCode::InvalidParameter, "the server's HF_ENDPOINT is not a valid Hub endpoint",
							  *problem + " The value is \"" + *v + "\".",
							  "Set pgml_replication.hf_endpoint, or fix HF_ENDPOINT in the server's environment.");
		return *v;
	}
	return std::string("https://huggingface.co");
}

}  // namespace pgmlr::hf
