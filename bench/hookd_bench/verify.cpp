// Looks up a run's acknowledged ids in a hookd store (see verify.hpp). Ids repeat when the
// run sent duplicates; each is looked up once.
#include "verify.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "hookd/outbox/sqlite.hpp"

namespace hookd::bench {

StoreCheck verify_store(const std::string& path, const std::string& route,
                        const std::vector<std::string>& ids) {
  using namespace hookd::outbox;
  auto db = open_connection(path, SQLITE_OPEN_READONLY);
  exec(db.get(), "PRAGMA busy_timeout = 5000");
  std::vector<std::string> routes;
  if (route.empty()) {
    auto list = prepare(db.get(), "SELECT DISTINCT route FROM events");
    while (sqlite3_step(list.get()) == SQLITE_ROW) {
      routes.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(list.get(), 0)));
    }
  } else {
    routes.push_back(route);
  }
  auto find = prepare(db.get(), "SELECT 1 FROM events WHERE route = ?1 AND id = ?2");
  auto stored = [&](const std::string& id) {
    for (const auto& r : routes) {
      sqlite3_reset(find.get());
      sqlite3_bind_text(find.get(), 1, r.data(), static_cast<int>(r.size()), SQLITE_STATIC);
      sqlite3_bind_text(find.get(), 2, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      int rc = sqlite3_step(find.get());
      if (rc == SQLITE_ROW) return true;
      if (rc != SQLITE_DONE) raise(db.get(), rc);
    }
    return false;
  };
  std::vector<std::string> unique = ids;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  StoreCheck check;
  exec(db.get(), "BEGIN");  // one snapshot for every lookup
  for (const auto& id : unique) {
    ++check.checked;
    if (stored(id)) continue;
    ++check.missing;
    if (check.examples.size() < 10) check.examples.push_back(id);
  }
  exec(db.get(), "COMMIT");
  return check;
}

void write_ids(const std::string& path, const std::vector<std::string>& ids) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& id : ids) out << id << '\n';
  out.flush();
  if (!out) throw std::runtime_error("--acked-ids: cannot write " + path);
}

}  // namespace hookd::bench
