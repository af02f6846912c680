// A small RAII layer over the SQLite C API: a connection, prepared statements, transactions.
// Failures throw safescan::Error naming the database file (see check() for the codes).
//
//   auto db = sqlite::Database::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
//   auto insert = db.prepare("INSERT INTO t(a, b) VALUES (?1, ?2)");
//   sqlite::Transaction tx(db);
//   insert.reset().bind(1, 42).bind(2, "text").run();
//   tx.commit();
//
// Not thread-safe: one connection and its statements belong to one thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace safescan::sqlite {

// Throws the safescan::Error for an SQLite result code: SQLITE_NOTADB -> invalid_argument
// ("not an SQLite database"), SQLITE_CONSTRAINT -> invalid_argument, SQLITE_CORRUPT -> corrupt,
// CANTOPEN / PERM / IOERR / READONLY / FULL / BUSY / LOCKED -> unreadable, others -> internal.
[[noreturn]] void fail(sqlite3* db, int rc, std::string_view context, const std::string& file);

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, std::string_view sql, std::string file);
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  explicit operator bool() const { return stmt_ != nullptr; }

  // Ends the previous execution (releasing its read snapshot) and clears the bindings.
  Statement& reset() noexcept;

  // Parameters are 1-based; text is copied (SQLITE_TRANSIENT).
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind_null(int index);
  // Binds NULL for "" (text) or for a value equal to `null_value`.
  Statement& bind_or_null(int index, std::string_view value);
  Statement& bind_or_null(int index, std::int64_t value, std::int64_t null_value);

  // Steps once: true when a row is available, false when done. On error the statement is
  // reset and the error thrown.
  bool step();
  // Steps to the end (for statements without rows) and resets.
  void run();

  // Columns are 0-based.
  bool is_null(int col) const;
  std::int64_t int64(int col) const;
  double real(int col) const;
  std::string text(int col) const;  // "" for NULL
  std::string_view text_view(int col) const;  // valid until the next step/reset

  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string file_;
};

class Database {
 public:
  Database() = default;
  // flags: SQLITE_OPEN_READONLY or SQLITE_OPEN_READWRITE [| SQLITE_OPEN_CREATE] [| SQLITE_OPEN_URI].
  // SQLITE_OPEN_NOMUTEX is added (one thread per connection). Throws Error(unreadable).
  static Database open(const std::filesystem::path& file, int flags);

  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  explicit operator bool() const { return db_ != nullptr; }
  sqlite3* get() const { return db_; }
  const std::string& file() const { return file_; }

  // Runs one or more statements without results.
  void exec(std::string_view sql);
  Statement prepare(std::string_view sql) const;
  // The first column of the first row of a query as an integer (0 when there is no row).
  std::int64_t query_int64(std::string_view sql) const;

  std::int64_t changes() const;  // rows changed by the last INSERT / UPDATE / DELETE
  std::int64_t last_insert_rowid() const;
  bool in_transaction() const;  // not in autocommit mode
  void close() noexcept;

 private:
  sqlite3* db_ = nullptr;
  std::string file_;
};

// BEGIN (IMMEDIATE by default: takes the write lock up front, waiting busy_timeout for it);
// ROLLBACK in the destructor unless commit() was called.
class Transaction {
 public:
  explicit Transaction(Database& db, std::string_view begin = "BEGIN IMMEDIATE");
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  void commit();

 private:
  Database& db_;
  bool open_ = true;
};

}  // namespace safescan::sqlite
