// Errors as values inside the core, and the one place that turns them (and
// any exception) into a pgmlr_status for the shim.
#pragma once
#include "common/core_only.hpp"

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "pgml_repl/status.h"

namespace pgmlr {

struct Error {
	pgmlr_errcode code = PGMLR_ERR_INTERNAL;
	std::string message;
	std::string detail;
	std::string hint;
};

inline Error make_error(pgmlr_errcode code, std::string message, std::string detail = {}, std::string hint = {}) {
	return Error{code, std::move(message), std::move(detail), std::move(hint)};
}

// A value or an Error. Small on purpose: the core's expected failures are
// data the caller inspects, never exceptions.
template <class T>
class Result {
public:
	Result(T value) : v_(std::move(value)) {}
	Result(Error error) : v_(std::move(error)) {}
	bool ok() const { return v_.index() == 0; }
	explicit operator bool() const { return ok(); }
	T &value() { return std::get<0>(v_); }
	const T &value() const { return std::get<0>(v_); }
	T &operator*() { return value(); }
	const T &operator*() const { return value(); }
	T *operator->() { return &value(); }
	const T *operator->() const { return &value(); }
	const Error &error() const { return std::get<1>(v_); }

private:
	std::variant<T, Error> v_;
};

// For operations that return nothing but may fail.
using Status = std::optional<Error>;

void fill_status(pgmlr_status *out, const Error &error);

// Runs fn() and reports an Error it returns, or any exception it throws, in
// *out. Every extern "C" entry point of the core goes through this, so no
// exception ever reaches the shim. fn returns Status (nullopt = success).
template <class Fn>
void guarded(pgmlr_status *out, Fn &&fn) noexcept;

// guarded() for an entry point that returns a string (error_impl.hpp).
template <class Fn>
char *guarded_string(pgmlr_status *out, Fn &&fn) noexcept;

// Copies s into malloc'd memory for the shim (released with pgmlr_free).
char *to_c_string(const std::string &s);

}  // namespace pgmlr

#include "common/error_impl.hpp"
