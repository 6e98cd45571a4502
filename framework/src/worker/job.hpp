// One attempt of a claimed delivery on its plugin instance, with every failure of the
// plugin call turned into an outcome. Private to worker/.
#pragma once

#include "hookd/outbox/deliveries.hpp"
#include "hookd/plugin/host.hpp"
#include "hookd/plugin/loader.hpp"
#include "hookd/worker/retry.hpp"

namespace hookd::worker {

// Runs instance.handle() once for `delivery`; never throws.
Attempt run_attempt(const outbox::ClaimedDelivery& delivery, const plugin::Instance& instance);

// Runs one call of `delivery` through its plugin's host; never throws. The outcomes:
// - the plugin's answer, as run_attempt's;
// - crashed when the host died during the call (count_crash when it was the host's only
//   call: see CallResult::sole; crashes_before from the delivery);
// - timeout past `timeout`: the call took its host with it (Host::call), so nothing of
//   it runs on once this returns;
// - released (no attempt used) when no host could take the call, with retry_after set to
//   when one may (at least a second).
Attempt run_hosted_attempt(const outbox::ClaimedDelivery& delivery, plugin::Host& host,
                           std::chrono::milliseconds timeout);

}  // namespace hookd::worker
