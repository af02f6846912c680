// The results store's schema: identification (application_id, user_version), creation and
// checks on open. See docs/results-store.md for the tables.
#pragma once

#include <cstdint>
#include <string>

#include "dataset/sqlite.hpp"
#include "safescan/store.hpp"

namespace safescan::store_schema {

// PRAGMA application_id of every safescan results store: "SfSc".
constexpr std::int32_t kApplicationId = 0x53665363;
// PRAGMA user_version: bumped whenever the schema changes (2: policy decisions and categories).
constexpr std::int64_t kVersion = 2;

// Sets the connection's pragmas (busy timeout, foreign keys; WAL and synchronous=NORMAL when
// writable), checks that the file is a safescan store of a known version and, in create mode,
// creates the schema in a file that has none; a version 1 store opened for writing is upgraded
// to version 2. Returns the schema version in force (1 for a version 1 store opened
// read-only: it has no categories table). Throws Error(invalid_argument) for files that are
// not safescan stores.
std::int64_t prepare(sqlite::Database& db, OpenMode mode);

// Current time, ISO 8601 UTC with milliseconds ("2024-05-01T12:34:56.789Z").
std::string utc_now();

}  // namespace safescan::store_schema
