// postgresql.auto.conf as an ordered list of entries, merged and rendered
// byte for byte the way PostgreSQL 15's ALTER SYSTEM writes the file.
// Parsing stays in the shim (PostgreSQL's own ParseConfigFp), so the core
// never has to agree with the server's lexer.
#pragma once
#include "common/core_only.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace pgmlr {

struct ConfEntry {
	std::string name;
	std::string value;
};

// The two comment lines write_auto_conf_file puts at the top.
extern const char *const kAutoConfHeader;

// GUC names compare case-insensitively (ASCII), like guc_name_compare.
bool guc_name_equal(std::string_view a, std::string_view b);

// escape_single_quotes_ascii: ' and \ are doubled, nothing else changes.
std::string escape_conf_value(std::string_view value);

class AutoConf {
public:
	// Entries in file order, duplicates kept (external tools may write them).
	void add(std::string name, std::string value);
	// The value the server would use: the last matching entry, or nullptr.
	const std::string *find(std::string_view name) const;
	// Replaces the first matching entry in place and drops later duplicates
	// (which would otherwise win when the server reads the file); appends
	// when there is none. The name is written as given.
	void set(std::string_view name, std::string_view value);
	std::string render() const;
	const std::vector<ConfEntry> &entries() const { return entries_; }

private:
	std::vector<ConfEntry> entries_;
};

}  // namespace pgmlr
