// One attempt of a claimed delivery on its plugin instance, with every failure of the
// plugin call turned into an outcome. Private to worker/.
#pragma once

#include "hookd/outbox/deliveries.hpp"
#include "hookd/plugin/loader.hpp"
#include "hookd/worker/retry.hpp"

namespace hookd::worker {

// Runs instance.handle() once for `delivery`; never throws.
Attempt run_attempt(const outbox::ClaimedDelivery& delivery, const plugin::Instance& instance);

}  // namespace hookd::worker
