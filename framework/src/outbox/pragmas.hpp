// Connection settings shared by the outbox's writing and checkpointing connections.
#pragma once

namespace hookd::outbox {

// The CLI may write (replay) while the server runs: wait for its lock rather than fail.
inline constexpr int kBusyTimeoutMs = 5000;

// After a checkpoint has emptied the WAL, truncate the file back to this size so that a
// burst does not leave a huge WAL behind for good.
inline constexpr const char* kJournalSizeLimitPragma = "PRAGMA journal_size_limit = 16777216";

}  // namespace hookd::outbox
