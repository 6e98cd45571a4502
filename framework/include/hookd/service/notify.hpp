// The systemd notify protocol (sd_notify(3)) without libsystemd: one datagram of
// newline-separated assignments ("READY=1\nSTATUS=...") to the AF_UNIX socket named by
// $NOTIFY_SOCKET. Without a service manager it does nothing, so serve calls it unconditionally.
// Thread-safety: send() may be called from any thread (a socket per message).
#pragma once

#include <atomic>
#include <string>
#include <string_view>

namespace hookd::service {

class Notifier {
 public:
  // $NOTIFY_SOCKET: a path, or an abstract socket when it starts with '@'. Unset or empty:
  // disabled.
  static Notifier from_environment();

  explicit Notifier(std::string socket = {}) : socket_(std::move(socket)) {}

  bool enabled() const { return !socket_.empty(); }

  // Sends `state` as one datagram; false when it could not be sent (a warning at the first
  // failure after a success: watchdog pings would repeat it twice a second), true when
  // disabled.
  bool send(std::string_view state) const;

 private:
  std::string socket_;
  mutable std::atomic<bool> failing_{false};
};

// "MONOTONIC_USEC=<now>": systemd ≥ 253 wants it next to RELOADING=1 (Type=notify-reload)
// to tell this reload from an earlier one.
std::string monotonic_usec();

}  // namespace hookd::service
