// One attempt of a claimed delivery: the plugin's view of the event, the call, the outcome.
#include "job.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <vector>

namespace hookd::worker {
namespace {

using Outcome = outbox::DeliveryResult::Outcome;

// The plugin's view of `d`; `headers` holds the views it points into.
plugin::Event event_of(const outbox::ClaimedDelivery& d, std::vector<plugin::Header>& headers) {
  headers.reserve(d.headers.size());
  for (const auto& h : d.headers) headers.push_back({h.name, h.value});
  return plugin::Event{d.event_id, d.route, d.type, d.received_at_us, d.attempt, headers, d.body};
}

Attempt begun(const outbox::ClaimedDelivery& d) {
  Attempt a;
  a.delivery_id = d.id;
  a.attempt = d.attempt;
  a.started_at_us = outbox::unix_now_us();
  return a;
}

void take_answer(Attempt& a, plugin::Result r) {
  a.message = std::move(r.message);
  a.retry_after = r.retry_after;
  switch (r.outcome) {
    case plugin::Outcome::ok:
      a.outcome = Outcome::ok;
      break;
    case plugin::Outcome::fail:
      a.outcome = Outcome::fail;
      break;
    case plugin::Outcome::retry:
      a.outcome = Outcome::retry;
      break;
  }
}

}  // namespace

Attempt run_attempt(const outbox::ClaimedDelivery& d, const plugin::Instance& instance) {
  std::vector<plugin::Header> headers;
  const plugin::Event event = event_of(d, headers);
  Attempt a = begun(d);
  try {
    // The loader turns anything the plugin does into a Result; this guards the host side.
    take_answer(a, instance.handle(event));
  } catch (const std::exception& e) {
    a.outcome = Outcome::retry;
    a.message = std::string("the handler call failed: ") + e.what();
  } catch (...) {
    a.outcome = Outcome::retry;
    a.message = "the handler call failed with an unknown exception";
  }
  a.finished_at_us = outbox::unix_now_us();
  return a;
}

Attempt run_hosted_attempt(const outbox::ClaimedDelivery& d, plugin::Host& host,
                           std::chrono::milliseconds timeout) {
  using Status = plugin::CallResult::Status;
  std::vector<plugin::Header> headers;
  const plugin::Event event = event_of(d, headers);
  Attempt a = begun(d);
  plugin::CallResult r;
  try {
    r = host.call(event, timeout);
  } catch (const std::exception& e) {  // std::bad_alloc and the like: the plugin saw nothing
    r.status = plugin::CallResult::Status::unavailable;
    r.result.message = std::string("plugin host for '") + host.name() + "': " + e.what();
  }
  a.finished_at_us = outbox::unix_now_us();
  switch (r.status) {
    case Status::answered:
      take_answer(a, std::move(r.result));
      break;
    case Status::crashed:
      a.outcome = Outcome::crashed;
      a.message = std::move(r.result.message) + " while handling event " + d.event_id;
      a.count_crash = r.sole;
      a.crashes_before = d.crashes;
      break;
    case Status::timeout:
      a.outcome = Outcome::timeout;
      a.message = "no answer within handler_timeout: " + std::move(r.result.message) +
                  "; its host was killed (a call cannot be interrupted otherwise)";
      break;
    case Status::unsendable:  // a fail: the same event will never fit
      take_answer(a, std::move(r.result));
      break;
    case Status::unavailable:
      a.outcome = Outcome::released;
      a.message = std::move(r.result.message);
      a.retry_after = std::max<std::chrono::milliseconds>(host.available_in(),
                                                          std::chrono::seconds(1));
      break;
  }
  return a;
}

}  // namespace hookd::worker
