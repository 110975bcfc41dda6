// The C boundary helpers, for the api*.cpp files only: they turn a core Error
// (or any exception) into the pgmlr_status the shim reads, and copy strings
// into malloc'd memory the shim frees with pgmlr_free. Implementation files
// never include this header, so they never see a C type.
#pragma once
#include "common/core_only.hpp"

#include <exception>
#include <new>
#include <string>

#include "common/error.hpp"
#include "pgml_repl/status.h"

namespace pgmlr {

static_assert(int(ErrCode::Ok) == PGMLR_OK && int(ErrCode::InvalidParameter) == PGMLR_ERR_INVALID_PARAMETER &&
                  int(ErrCode::InvalidName) == PGMLR_ERR_INVALID_NAME &&
                  int(ErrCode::ConfigFile) == PGMLR_ERR_CONFIG_FILE && int(ErrCode::Io) == PGMLR_ERR_IO &&
                  int(ErrCode::NotFound) == PGMLR_ERR_NOT_FOUND && int(ErrCode::Permission) == PGMLR_ERR_PERMISSION &&
                  int(ErrCode::OutOfMemory) == PGMLR_ERR_OUT_OF_MEMORY &&
                  int(ErrCode::Canceled) == PGMLR_ERR_CANCELED && int(ErrCode::Internal) == PGMLR_ERR_INTERNAL,
              "pgmlr::ErrCode must match pgmlr_errcode in pgml_repl/status.h");

inline pgmlr_errcode to_c_errcode(ErrCode code) { return static_cast<pgmlr_errcode>(code); }

void fill_status(pgmlr_status *out, const Error &error);
void fill_status_exception(pgmlr_status *out, pgmlr_errcode code, const char *what) noexcept;

// Copies s into malloc'd memory for the shim (released with pgmlr_free).
char *to_c_string(const std::string &s);

// Runs fn() and reports an Error it returns, or any exception it throws, in
// *out. Every C entry point of the core goes through this, so no
// exception ever reaches the shim. fn returns Status (nullopt = success).
template <class Fn>
void guarded(pgmlr_status *out, Fn &&fn) noexcept {
	pgmlr_status_clear(out);
	try {
		Status st = fn();
		if (st) fill_status(out, *st);
	} catch (const std::bad_alloc &) {
		fill_status_exception(out, PGMLR_ERR_OUT_OF_MEMORY, "out of memory");
	} catch (const std::exception &e) {
		fill_status_exception(out, PGMLR_ERR_INTERNAL, e.what());
	} catch (...) {
		fill_status_exception(out, PGMLR_ERR_INTERNAL, "unknown exception in pgml_replication core");
	}
}

// For entry points that hand a string to the shim: fn returns
// Result<std::string>; the string comes back malloc'd, NULL on failure.
template <class Fn>
char *guarded_string(pgmlr_status *out, Fn &&fn) noexcept {
	char *result = nullptr;
	guarded(out, [&]() -> Status {
		Result<std::string> r = fn();
		if (!r) return r.error();
		result = to_c_string(*r);
		return {};
	});
	return result;
}

}  // namespace pgmlr
