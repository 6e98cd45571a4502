// An event as handed to the outbox by the ingest path, and the answer to an append.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hookd::outbox {

// Now as unix time in microseconds: the unit of every timestamp in the store.
inline std::int64_t unix_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Header {
  std::string name;
  std::string value;
};

// One (event, handler) pair to create with the event.
struct NewDelivery {
  std::string handler;
  std::string ordering_key;  // empty: no ordering constraint
};

struct NewEvent {
  std::string route;
  std::string id;    // dedupe key within the route
  std::string type;  // may be empty
  bool test = false;
  std::int64_t received_at_us = 0;      // unix time, microseconds
  std::vector<Header> headers;          // already redacted (Authorization, Cookie, ...)
  std::string body;                     // the bytes exactly as received
  std::vector<NewDelivery> deliveries;  // empty: stored and marked as matching no handler
};

enum class AppendStatus {
  accepted,     // committed now
  duplicate,    // (route, id) was committed before; nothing queued again
  unavailable,  // not committed: storage failure or shutting down (answer 503)
};

struct AppendResult {
  AppendStatus status = AppendStatus::unavailable;
  std::string error;  // why, when unavailable (for logs; no request data in it)
};

// Called exactly once per append, on the writer thread, after COMMIT returned (or the
// batch failed). Keep it short: post the result to where it is needed and return.
using AppendCallback = std::function<void(AppendResult)>;

}  // namespace hookd::outbox
