// set_thread_name / thread_name: pthread_setname_np and pthread_getname_np.
#include "hookd/log/thread_name.hpp"

#include <pthread.h>

#include <array>

namespace hookd::log {

void set_thread_name(std::string_view name) {
  std::array<char, 16> buf{};  // 15 bytes and the NUL
  name = name.substr(0, buf.size() - 1);
  name.copy(buf.data(), name.size());
  (void)::pthread_setname_np(::pthread_self(), buf.data());
}

std::string thread_name() {
  std::array<char, 16> buf{};
  if (::pthread_getname_np(::pthread_self(), buf.data(), buf.size()) != 0) return {};
  return buf.data();
}

}  // namespace hookd::log
