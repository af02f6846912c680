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
// PRAGMA user_version: bumped whenever the schema changes.
constexpr std::int64_t kVersion = 1;

// Sets the connection's pragmas (busy timeout, foreign keys; WAL and synchronous=NORMAL when
// writable), checks that the file is a safescan store of a known version and, in create mode,
// creates the schema in a file that has none. Throws Error(invalid_argument) for files that
// are not safescan stores.
void prepare(sqlite::Database& db, OpenMode mode);

// Current time, ISO 8601 UTC with milliseconds ("2024-05-01T12:34:56.789Z").
std::string utc_now();

}  // namespace safescan::store_schema
