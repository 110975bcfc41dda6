// The HuggingFace environment as huggingface_hub reads it: the cache
// folder, the access token and the Hub endpoint, each "the setting, else the
// environment variables, else the default". One place, so the settings'
// check hooks, the SQL functions and the worker agree on every fallback.
#pragma once
#include "common/core_only.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace pgmlr::hf {

using EnvLookup = std::function<std::optional<std::string>(const char *name)>;

// The server's environment (std::getenv); empty values count as unset.
std::optional<std::string> process_env(const char *name);

// "~" and "~/..." with $HOME, as os.path.expanduser does.
std::string expand_home(const std::string &p, const EnvLookup &env);

// configured if non-empty, else the huggingface_hub chain of variables.
// Empty string when nothing at all is set (no HOME either).
std::string default_cache_dir(const std::string &configured, const EnvLookup &env);

// The huggingface_hub token file: $HF_TOKEN_PATH, else $HF_HOME/token, else
// $XDG_CACHE_HOME/huggingface/token, else $HOME/.cache/huggingface/token.
// nullopt when none of these variables is set.
std::optional<std::string> token_file_path(const EnvLookup &env);

// The token to send: configured if non-empty, else HF_TOKEN, else
// HUGGING_FACE_HUB_TOKEN, else the first line of the token file (trailing
// line breaks and spaces dropped; a missing or unreadable file is no token).
std::optional<std::string> hub_token(const std::string &configured, const EnvLookup &env);

// Sent in an HTTP header: printable ASCII, no space or control byte.
bool token_is_printable(std::string_view token);

// Why value cannot be a Hub endpoint (one sentence), or nullopt when it can:
// an http:// or https:// URL with a host, no spaces, quotes, backslashes,
// non-ASCII bytes, query or fragment. The empty value is accepted (it means
// "use the fallback").
std::optional<std::string> endpoint_problem(std::string_view value);

// configured if non-empty, else HF_ENDPOINT, else https://huggingface.co.
// A bad HF_ENDPOINT is an error (the setting is checked when it is set).
Result<std::string> hub_endpoint(const std::string &configured, const EnvLookup &env);

}  // namespace pgmlr::hf
