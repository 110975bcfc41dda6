// Generated passwords and the check of caller-supplied SCRAM verifiers.
#pragma once
#include "common/core_only.hpp"

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace pgmlr {

// Letters and digits without look-alikes (no 0 O 1 I l): safe to read aloud,
// type, and paste into a connection string without escaping.
constexpr std::string_view kPasswordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
constexpr size_t kGeneratedPasswordLength = 32;  // about 186 bits

// kGeneratedPasswordLength characters from kPasswordAlphabet, drawn with
// OpenSSL's RAND_bytes and rejection sampling (no modulo bias).
Result<std::string> generate_password();

enum class PasswordKind { Plaintext, ScramVerifier };

// What a caller passed as password. A well-formed
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> is a verifier;
// text that starts like one but is malformed, an md5 hash ("md5" + 32 hex)
// and the empty string are refused, so nothing is silently stored as a
// password the caller did not mean.
Result<PasswordKind> classify_password(std::string_view password);

// The format check alone (base64 fields, 32-byte keys, iterations > 0).
bool is_scram_verifier(std::string_view s);

}  // namespace pgmlr
