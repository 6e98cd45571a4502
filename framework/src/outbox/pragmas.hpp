// Connection settings shared by the outbox's writing and checkpointing connections.
#pragma once

namespace hookd::outbox {

// The CLI may write (replay) while the server runs: wait for its lock rather than fail.
inline constexpr int kBusyTimeoutMs = 5000;

// The server's writer waits longer for a write lock held by another process (a `hookd
// replay`, an open `BEGIN IMMEDIATE` in a sqlite3 shell) before a batch fails with 503, but
// not so long that senders with short timeouts (Slack 3 s, Shopify 5 s, GitHub 10 s) give up
// first: every append waits behind the one writer meanwhile.
inline constexpr int kWriterBusyTimeoutMs = 8000;

// After a checkpoint has emptied the WAL, truncate the file back to this size so that a
// burst does not leave a huge WAL behind for good. Well above the size at which the writer
// restarts the WAL under steady load (Checkpointer::kCatchUpPages, about 16.5 MB, plus the
// batch that crossed it): at 16 MiB every cycle truncated the file and the next regrew it.
inline constexpr const char* kJournalSizeLimitPragma = "PRAGMA journal_size_limit = 67108864";

}  // namespace hookd::outbox
