// The outbox schema and its migrations, keyed on PRAGMA user_version. Migrations only
// ever append: migration N is the list of SQL steps that takes version N-1 to N.
// Thread-safety: the functions use only the connection they are given.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace hookd::outbox {

// The database was written by a newer hookd (user_version above what this build knows).
class SchemaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Migration {
  int version;                          // user_version once applied
  std::vector<std::string_view> steps;  // SQL statements, applied in one transaction
  // Rebuilds a table (create, copy, drop, rename): runs with foreign key enforcement off,
  // so that dropping the old table does not cascade, and checks the keys before COMMIT.
  bool rebuilds_tables = false;
};

// Every migration, in order; the last one's version is latest_schema_version().
const std::vector<Migration>& migrations();
int latest_schema_version();

// PRAGMA user_version of `db`. Throws StoreError.
int schema_version(sqlite3* db);

// Brings `db` to latest_schema_version(), one IMMEDIATE transaction per migration (so a
// concurrent CLI migrating the same file is serialized by SQLite's lock). A no-op when
// already current. Throws SchemaError for a newer database, StoreError on SQLite errors
// (the failed migration is rolled back).
void migrate(sqlite3* db);

// For readers that must not migrate (the CLI on a read-only connection): throws
// SchemaError unless `db` is exactly at latest_schema_version().
void check_schema(sqlite3* db);

// Rebuilds the count tables (delivery_counts, event_counts) from the tables, as migration 5
// filled them: for a store written by other means than hookd's writers. Inside the
// caller's transaction, if any. Throws StoreError.
void recount(sqlite3* db);

}  // namespace hookd::outbox
