#pragma once
#include <exception>
#include <new>

namespace pgmlr {

void fill_status_exception(pgmlr_status *out, pgmlr_errcode code, const char *what) noexcept;

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
