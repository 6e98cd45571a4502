// The per-thread stack of structured log fields (see fields.hpp).
#include "hookd/log/fields.hpp"

namespace hookd::log {
namespace {

std::vector<Field>& stack() {
  thread_local std::vector<Field> fields;
  return fields;
}

}  // namespace

Fields::Fields(std::initializer_list<Field> fields) : previous_size_(stack().size()) {
  stack().insert(stack().end(), fields.begin(), fields.end());
}

Fields::~Fields() { stack().resize(previous_size_); }

const std::vector<Field>& current_fields() { return stack(); }

}  // namespace hookd::log
