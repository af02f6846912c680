// RAII wrappers over the SQLite C API; see sqlite.hpp.
#include "dataset/sqlite.hpp"

#include <utility>

#include "safescan/error.hpp"

namespace safescan::sqlite {

namespace {
// "\"<the first 80 characters of sql>\" <what>" (built by appending: GCC 12 warns about
// operator+ on a temporary here, -Wrestrict false positive).
std::string quoted(std::string_view sql, std::string_view what) {
  std::string s = "\"";
  s.append(sql.substr(0, 80));
  s += "\" ";
  s.append(what);
  return s;
}
}  // namespace

void fail(sqlite3* db, int rc, std::string_view context, const std::string& file) {
  std::string detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string message = std::string(context) + ": " + detail;
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      throw Error(ErrorCode::invalid_argument, "not a safescan database (not an SQLite file: " + detail + ")", file);
    case SQLITE_CONSTRAINT: throw Error(ErrorCode::invalid_argument, message, file);
    case SQLITE_CORRUPT: throw Error(ErrorCode::corrupt, message, file);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_FULL:
    case SQLITE_BUSY:
    case SQLITE_LOCKED: throw Error(ErrorCode::unreadable, message, file);
    default: throw Error(ErrorCode::internal, message, file);
  }
}

// --- Statement ---------------------------------------------------------------------------

Statement::Statement(sqlite3* db, std::string_view sql, std::string file) : db_(db), file_(std::move(file)) {
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_,
                              nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    fail(db, rc, "cannot prepare " + quoted(sql, ""), file_);
  }
}

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)),
      file_(std::move(other.file_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
    file_ = std::move(other.file_);
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::reset() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  return *this;
}

namespace {
void check_bind(sqlite3* db, int rc, const std::string& file) {
  if (rc != SQLITE_OK) fail(db, rc, "cannot bind a parameter", file);
}
}  // namespace

Statement& Statement::bind(int index, std::int64_t value) {
  check_bind(db_, sqlite3_bind_int64(stmt_, index, value), file_);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  check_bind(db_, sqlite3_bind_double(stmt_, index, value), file_);
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  // A non-null pointer even for "" so that the value is '' and not NULL.
  const char* data = value.data() ? value.data() : "";
  check_bind(db_, sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8), file_);
  return *this;
}

Statement& Statement::bind_null(int index) {
  check_bind(db_, sqlite3_bind_null(stmt_, index), file_);
  return *this;
}

Statement& Statement::bind_or_null(int index, std::string_view value) {
  return value.empty() ? bind_null(index) : bind(index, value);
}

Statement& Statement::bind_or_null(int index, std::int64_t value, std::int64_t null_value) {
  return value == null_value ? bind_null(index) : bind(index, value);
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // sqlite3_errmsg is still the step's message until the next API call on the connection.
  const char* sql = sqlite3_sql(stmt_);
  try {
    fail(db_, rc, quoted(sql ? sql : "", "failed"), file_);
  } catch (...) {
    sqlite3_reset(stmt_);
    throw;
  }
}

void Statement::run() {
  while (step()) {
  }
  sqlite3_reset(stmt_);
}

bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
std::int64_t Statement::int64(int col) const { return sqlite3_column_int64(stmt_, col); }
double Statement::real(int col) const { return sqlite3_column_double(stmt_, col); }

std::string_view Statement::text_view(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (!p) return {};
  return {p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))};
}

std::string Statement::text(int col) const { return std::string(text_view(col)); }

// --- Database ----------------------------------------------------------------------------

Database Database::open(const std::filesystem::path& file, int flags) {
  Database db;
  db.file_ = file.string();
  int rc = sqlite3_open_v2(db.file_.c_str(), &db.db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = db.db_ ? sqlite3_errmsg(db.db_) : sqlite3_errstr(rc);
    db.close();
    throw Error(ErrorCode::unreadable, "cannot open the database: " + detail, file.string());
  }
  sqlite3_extended_result_codes(db.db_, 1);
  return db;
}

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), file_(std::move(other.file_)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    close();
    db_ = std::exchange(other.db_, nullptr);
    file_ = std::move(other.file_);
  }
  return *this;
}

Database::~Database() { close(); }

void Database::close() noexcept {
  // sqlite3_close_v2 defers the close until the last statement is finalized.
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
}

void Database::exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    sqlite3_free(err);
    fail(db_, rc, quoted(text, "failed"), file_);
  }
}

Statement Database::prepare(std::string_view sql) const { return Statement(db_, sql, file_); }

std::int64_t Database::query_int64(std::string_view sql) const {
  Statement st = prepare(sql);
  std::int64_t value = st.step() ? st.int64(0) : 0;
  st.reset();
  return value;
}

std::int64_t Database::changes() const { return sqlite3_changes64(db_); }
std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
bool Database::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

// --- Transaction -------------------------------------------------------------------------

Transaction::Transaction(Database& db, std::string_view begin) : db_(db) { db_.exec(begin); }

Transaction::~Transaction() {
  if (!open_) return;
  // The statement that failed may already have rolled the transaction back (SQLITE_FULL ...).
  if (db_.in_transaction()) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace safescan::sqlite
