// Implements replication/password.hpp; what it is for is said at the top of that header.
#include "common/core_only.hpp"
#include "replication/password.hpp"

#include <openssl/rand.h>

#include "common/text.hpp"
#include "pgml_repl/replication.h"

namespace pgmlr {

namespace {

// Length of the decoded bytes, or -1 if s is not canonical padded base64.
long base64_decoded_length(std::string_view s) {
	if (s.empty() || s.size() % 4 != 0) return -1;
	size_t pad = 0;
	for (size_t i = 0; i < s.size(); ++i) {
		char c = s[i];
		bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
		if (c == '=') {
			if (i < s.size() - 2) return -1;
			++pad;
		} else if (!b64 || pad > 0) {
			return -1;
		}
	}
	return static_cast<long>(s.size() / 4 * 3 - pad);
}

bool is_positive_int(std::string_view s) {
	if (s.empty() || s.size() > 9 || s[0] == '0') return false;
	for (char c : s)
		if (c < '0' || c > '9') return false;
	return true;
}

constexpr std::string_view kScramPrefix = "SCRAM-SHA-256$";
constexpr long kScramKeyBytes = 32;

}  // namespace

Result<std::string> generate_password() {
	// Largest multiple of the alphabet size that fits in a byte: bytes above it
	// are thrown away so every character is equally likely.
	const unsigned n = static_cast<unsigned>(kPasswordAlphabet.size());
	const unsigned limit = 256 / n * n;
	std::string out;
	out.reserve(kGeneratedPasswordLength);
	unsigned char buf[64];
	for (int round = 0; round < 16 && out.size() < kGeneratedPasswordLength; ++round) {
		if (RAND_bytes(buf, sizeof buf) != 1)
			return make_error(ErrCode::Internal, "could not generate a random password",
							  "OpenSSL's random number generator failed.");
		for (unsigned char b : buf) {
			if (b >= limit) continue;
			out.push_back(kPasswordAlphabet[b % n]);
			if (out.size() == kGeneratedPasswordLength) break;
		}
	}
	if (out.size() != kGeneratedPasswordLength)
		return make_error(ErrCode::Internal, "could not generate a random password");
	return out;
}

bool is_scram_verifier(std::string_view s) {
	if (!starts_with(s, kScramPrefix)) return false;
	s.remove_prefix(kScramPrefix.size());
	size_t dollar = s.find('$');
	if (dollar == std::string_view::npos) return false;
	std::string_view iter_salt = s.substr(0, dollar);
	std::string_view keys = s.substr(dollar + 1);
	size_t c1 = iter_salt.find(':');
	size_t c2 = keys.find(':');
	if (c1 == std::string_view::npos || c2 == std::string_view::npos) return false;
	if (!is_positive_int(iter_salt.substr(0, c1))) return false;
	if (base64_decoded_length(iter_salt.substr(c1 + 1)) <= 0) return false;
	return base64_decoded_length(keys.substr(0, c2)) == kScramKeyBytes &&
		   base64_decoded_length(keys.substr(c2 + 1)) == kScramKeyBytes;
}

Result<PasswordKind> classify_password(std::string_view password) {
	if (password.empty())
		return make_error(ErrCode::InvalidParameter, "password must not be empty", {},
						  "Pass NULL to have a strong password generated.");
	if (starts_with(password, kScramPrefix)) {
		if (!is_scram_verifier(password))
			return make_error(ErrCode::InvalidParameter, "malformed SCRAM-SHA-256 verifier",
							  "Expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> with base64 fields "
							  "and 32-byte keys.",
							  "Pass the verifier exactly as pg_authid.rolpassword shows it, or pass a plaintext "
							  "password.");
		return PasswordKind::ScramVerifier;
	}
	if (password.size() == 35 && starts_with(password, "md5") && is_hex(password.substr(3)))
		return make_error(ErrCode::InvalidParameter, "md5 password hashes are not accepted",
						  "The replication role's password is always stored as a SCRAM-SHA-256 verifier.",
						  "Pass the plaintext password, a SCRAM-SHA-256 verifier, or NULL to generate one.");
	return PasswordKind::Plaintext;
}

}  // namespace pgmlr
