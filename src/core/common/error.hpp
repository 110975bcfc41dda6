// Errors as values inside the core. Turning them (and any exception) into a
// pgmlr_status for the shim is the api files' job (common/c_boundary.hpp).
#pragma once
#include "common/core_only.hpp"

#include <optional>
#include <string>
#include <utility>
#include <variant>


namespace pgmlr {

// What kind of failure, so the shim can pick a SQLSTATE. Same values as
// pgmlr_errcode in pgml_repl/status.h (c_boundary.hpp checks it); the core
// keeps its own enum so that implementation headers need no C header.
enum class ErrCode {
	Ok = 0,            // only for notes carried in an Error, never a failure
	InvalidParameter,  // 22023 invalid_parameter_value
	InvalidName,       // 42602 invalid_name
	ConfigFile,        // F0000 config_file_error
	Io,                // 58030 io_error
	NotFound,          // 58P01 undefined_file
	Permission,        // 42501 insufficient_privilege
	OutOfMemory,       // 53200 out_of_memory
	Canceled,          // 57014 query_canceled
	Internal           // XX000 internal_error
};

struct Error {
	ErrCode code = ErrCode::Internal;
	std::string message;
	std::string detail;
	std::string hint;
};

inline Error make_error(ErrCode code, std::string message, std::string detail = {}, std::string hint = {}) {
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

}  // namespace pgmlr
