#include <gtest/gtest.h>

#include <set>

#include "replication/password.hpp"
#include "pgml_repl/replication.h"

using namespace pgmlr;

// Well-formed in every field (16-byte salt, 32-byte keys); format only.
static const char *kGood =
	"SCRAM-SHA-256$4096:ZW1n0AJ1QmC9ijxy2kLX4g==$"
	"kGvfIn0btg2qTgUyTFjmCiPJaoVUzZwEm0M3Up2czso=:"
	"1SdDs8Nl6ATZRvm3DgwU/6CgatmqmgKKq/uv7FRs2VY=";

TEST(Password, GeneratedHasLengthAndAlphabet) {
	auto pw = generate_password();
	ASSERT_TRUE(pw);
	EXPECT_EQ(pw->size(), kGeneratedPasswordLength);
	for (char c : *pw) EXPECT_NE(kPasswordAlphabet.find(c), std::string_view::npos) << c;
	for (char c : std::string("0O1Il")) EXPECT_EQ(kPasswordAlphabet.find(c), std::string_view::npos);
}

TEST(Password, GeneratedDiffersAndUsesTheAlphabet) {
	std::set<std::string> seen;
	std::set<char> chars;
	for (int i = 0; i < 200; ++i) {
		auto pw = generate_password();
		ASSERT_TRUE(pw);
		seen.insert(*pw);
		chars.insert(pw->begin(), pw->end());
	}
	EXPECT_EQ(seen.size(), 200u);
	// 6400 draws from 57 symbols: missing one by chance is ~1e-47.
	EXPECT_EQ(chars.size(), kPasswordAlphabet.size());
}

TEST(Password, ScramVerifierFormat) {
	EXPECT_TRUE(is_scram_verifier(kGood));
	std::string g = kGood;
	EXPECT_FALSE(is_scram_verifier("SCRAM-SHA-256$"));
	EXPECT_FALSE(is_scram_verifier(g.substr(0, g.size() - 1)));         // key too short
	EXPECT_FALSE(is_scram_verifier("scram-sha-256" + g.substr(13)));     // prefix case
	std::string zero_iter = g;
	zero_iter.replace(14, 4, "0");
	EXPECT_FALSE(is_scram_verifier(zero_iter));
	std::string no_iter = g;
	no_iter.replace(14, 4, "");
	EXPECT_FALSE(is_scram_verifier(no_iter));
	std::string bad_b64 = g;
	bad_b64[30] = '*';
	EXPECT_FALSE(is_scram_verifier(bad_b64));
	EXPECT_FALSE(is_scram_verifier(g + "\n"));
	EXPECT_FALSE(is_scram_verifier(g + "'; DROP ROLE x; --"));
	std::string no_salt = "SCRAM-SHA-256$4096:$" + g.substr(g.find('$', 14) + 1);
	EXPECT_FALSE(is_scram_verifier(no_salt));
}

TEST(Password, Classify) {
	auto k = classify_password(kGood);
	ASSERT_TRUE(k);
	EXPECT_EQ(*k, PasswordKind::ScramVerifier);
	k = classify_password("correct horse battery staple");
	ASSERT_TRUE(k);
	EXPECT_EQ(*k, PasswordKind::Plaintext);
	k = classify_password("SCRAM-SHA-256$4096:abc");
	ASSERT_FALSE(k);
	EXPECT_NE(k.error().message.find("malformed"), std::string::npos);
	EXPECT_FALSE(k.error().hint.empty());
	k = classify_password("md5" + std::string(32, 'a'));
	ASSERT_FALSE(k);
	EXPECT_NE(k.error().message.find("md5"), std::string::npos);
	k = classify_password("md5-but-plain");
	ASSERT_TRUE(k);
	k = classify_password("");
	ASSERT_FALSE(k);
	EXPECT_EQ(k.error().code, pgmlr::ErrCode::InvalidParameter);
}

TEST(Password, CBoundary) {
	pgmlr_status st;
	char *pw = pgmlr_generate_password(&st);
	ASSERT_NE(pw, nullptr);
	EXPECT_EQ(std::string(pw).size(), kGeneratedPasswordLength);
	pgmlr_free(pw);
	EXPECT_EQ(pgmlr_classify_password(kGood, &st), PGMLR_PASSWORD_SCRAM_VERIFIER);
	EXPECT_EQ(st.code, PGMLR_OK);
	pgmlr_classify_password(nullptr, &st);
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_PARAMETER);
}
