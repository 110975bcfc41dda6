#include "common/c_boundary.hpp"
#include "common/error.hpp"
#include "common/text.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

using pgmlr::Error;
using pgmlr::Status;

TEST(Guarded, SuccessClearsStatus) {
	pgmlr_status st;
	st.code = PGMLR_ERR_IO;
	pgmlr::guarded(&st, [] { return Status{}; });
	EXPECT_EQ(st.code, PGMLR_OK);
	EXPECT_STREQ(st.message, "");
}

TEST(Guarded, ErrorValueIsCopied) {
	pgmlr_status st;
	pgmlr::guarded(&st, [] {
		return Status{pgmlr::make_error(pgmlr::ErrCode::InvalidName, "bad name", "the detail", "the hint")};
	});
	EXPECT_EQ(st.code, PGMLR_ERR_INVALID_NAME);
	EXPECT_STREQ(st.message, "bad name");
	EXPECT_STREQ(st.detail, "the detail");
	EXPECT_STREQ(st.hint, "the hint");
}

TEST(Guarded, ExceptionsBecomeStatus) {
	pgmlr_status st;
	pgmlr::guarded(&st, []() -> Status { throw std::runtime_error("boom"); });
	EXPECT_EQ(st.code, PGMLR_ERR_INTERNAL);
	EXPECT_STREQ(st.message, "boom");
	pgmlr::guarded(&st, []() -> Status { throw std::bad_alloc(); });
	EXPECT_EQ(st.code, PGMLR_ERR_OUT_OF_MEMORY);
	pgmlr::guarded(&st, []() -> Status { throw 42; });
	EXPECT_EQ(st.code, PGMLR_ERR_INTERNAL);
}

TEST(Guarded, LongTextIsCutOnACharacterBoundary) {
	pgmlr_status st;
	std::string longmsg(300, 'a');
	longmsg.replace(254, 2, "\xc3\xa9");  // 'é' straddles the 255-byte limit
	pgmlr::guarded(&st, [&] { return Status{pgmlr::make_error(pgmlr::ErrCode::Io, longmsg)}; });
	std::string got = st.message;
	EXPECT_EQ(got.size(), 254u);
	EXPECT_TRUE(pgmlr::is_valid_utf8(got));
}

TEST(Result, HoldsValueOrError) {
	pgmlr::Result<int> good(7);
	ASSERT_TRUE(good.ok());
	EXPECT_EQ(*good, 7);
	pgmlr::Result<int> bad(pgmlr::make_error(pgmlr::ErrCode::Io, "no"));
	ASSERT_FALSE(bad.ok());
	EXPECT_EQ(bad.error().message, "no");
}

TEST(TextUtil, Utf8Validation) {
	EXPECT_TRUE(pgmlr::is_valid_utf8("plain"));
	EXPECT_TRUE(pgmlr::is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
	EXPECT_FALSE(pgmlr::is_valid_utf8("\xc3"));          // truncated
	EXPECT_FALSE(pgmlr::is_valid_utf8("\xc0\xaf"));      // overlong '/'
	EXPECT_FALSE(pgmlr::is_valid_utf8("\xed\xa0\x80"));  // surrogate
	EXPECT_FALSE(pgmlr::is_valid_utf8("\xff"));
}

TEST(TextUtil, HexAndLines) {
	EXPECT_TRUE(pgmlr::is_hex("0123456789abcdef"));
	EXPECT_FALSE(pgmlr::is_hex("ABC"));
	EXPECT_FALSE(pgmlr::is_hex(""));
	auto lines = pgmlr::split_lines("a\nb\n\nc\n");
	ASSERT_EQ(lines.size(), 4u);
	EXPECT_EQ(lines[2], "");
	EXPECT_EQ(pgmlr::trim("  x \t"), "x");
	EXPECT_TRUE(pgmlr::has_control_chars("a\nb"));
	EXPECT_FALSE(pgmlr::has_control_chars("a b"));
}
