// Thread names, as top -H, ps -L, gdb and /proc/PID/task/*/comm show them, and as the JSON
// log lines carry them ("thread"): each long-lived thread names itself when it starts.
// Thread-safety: both act on the calling thread only.
#pragma once

#include <string>
#include <string_view>

namespace hookd::log {

// Names the calling thread; cut to 15 bytes, the kernel's limit. Best effort.
void set_thread_name(std::string_view name);

// The calling thread's name ("" when it cannot be read).
std::string thread_name();

}  // namespace hookd::log
