// The common room's C boundary: pgmlr_status and pgmlr_free from
// pgml_repl/status.h, and the helpers that fill a pgmlr_status for every
// other room's api.cpp.
#include "common/core_only.hpp"
#include "common/c_boundary.hpp"

#include <cstdlib>
#include <cstring>

namespace {

void copy_text(char *dst, size_t cap, const char *src) {
	if (cap == 0) return;
	size_t n = std::strlen(src);
	if (n >= cap) {
		n = cap - 1;
		// Do not cut a UTF-8 sequence in half: back up to a lead byte.
		while (n > 0 && (static_cast<unsigned char>(src[n]) & 0xC0) == 0x80) --n;
	}
	std::memcpy(dst, src, n);
	dst[n] = '\0';
}

}  // namespace

extern "C" void pgmlr_status_clear(pgmlr_status *status) {
	status->code = PGMLR_OK;
	status->message[0] = '\0';
	status->detail[0] = '\0';
	status->hint[0] = '\0';
}

extern "C" void pgmlr_free(void *ptr) { std::free(ptr); }

namespace pgmlr {

void fill_status(pgmlr_status *out, const Error &error) {
	out->code = error.code == ErrCode::Ok ? PGMLR_ERR_INTERNAL : to_c_errcode(error.code);
	copy_text(out->message, sizeof out->message, error.message.c_str());
	copy_text(out->detail, sizeof out->detail, error.detail.c_str());
	copy_text(out->hint, sizeof out->hint, error.hint.c_str());
}

void fill_status_exception(pgmlr_status *out, pgmlr_errcode code, const char *what) noexcept {
	pgmlr_status_clear(out);
	out->code = code;
	copy_text(out->message, sizeof out->message, what ? what : "unknown error");
}

char *to_c_string(const std::string &s) {
	char *p = static_cast<char *>(std::malloc(s.size() + 1));
	if (!p) throw std::bad_alloc();
	std::memcpy(p, s.data(), s.size());
	p[s.size()] = '\0';
	return p;
}

}  // namespace pgmlr
