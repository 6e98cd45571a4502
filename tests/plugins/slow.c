/* Fixture plugin "slow": handle() sleeps for the `sleep_ms: N` of its config, then is
 * HOOKD_OK; for timeout tests. With `rendezvous: N` instead, each call waits until N calls
 * are inside handle() at once (HOOKD_OK) or gives up after 10 s (HOOKD_RETRY): proof that
 * calls run in parallel without measuring time. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hookd/plugin.h"

typedef struct slow_instance {
  long sleep_ms;
  long rendezvous;
  int in_flight; /* GCC __atomic builtins: the fixture stays C99 */
  int arrived;
} slow_instance;

static void* slow_create(const char* config, size_t len, char* error_buf, size_t error_len) {
  const char* key = strstr(config, "sleep_ms:");
  const char* meet = strstr(config, "rendezvous:");
  slow_instance* self;
  (void)len;
  if (key == NULL && meet == NULL) {
    static const char msg[] = "missing sleep_ms";
    if (error_len >= sizeof msg) memcpy(error_buf, msg, sizeof msg);
    return NULL;
  }
  self = (slow_instance*)calloc(1, sizeof *self);
  if (self == NULL) return NULL;
  if (key != NULL) self->sleep_ms = strtol(key + strlen("sleep_ms:"), NULL, 10);
  if (meet != NULL) self->rendezvous = strtol(meet + strlen("rendezvous:"), NULL, 10);
  return self;
}

static void slow_handle(void* instance, const hookd_event* event, hookd_result* result) {
  slow_instance* self = (slow_instance*)instance;
  struct timespec ts;
  (void)event;
  if (self->rendezvous > 0) {
    int waited_ms = 0;
    __atomic_add_fetch(&self->arrived, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&self->arrived, __ATOMIC_SEQ_CST) < self->rendezvous &&
           waited_ms < 10000) {
      ts.tv_sec = 0;
      ts.tv_nsec = 1000000L;
      nanosleep(&ts, NULL);
      ++waited_ms;
    }
    result->outcome =
        __atomic_load_n(&self->arrived, __ATOMIC_SEQ_CST) >= self->rendezvous ? HOOKD_OK
                                                                                : HOOKD_RETRY;
    return;
  }
  ts.tv_sec = self->sleep_ms / 1000;
  ts.tv_nsec = (self->sleep_ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0) {
  }
  result->outcome = HOOKD_OK;
}

static void slow_destroy(void* instance) {
  free(instance);
}

static const hookd_plugin_descriptor descriptor = {HOOKD_PLUGIN_ABI_MAJOR,
                                                   HOOKD_PLUGIN_ABI_MINOR,
                                                   sizeof(hookd_plugin_descriptor),
                                                   "slow",
                                                   slow_create,
                                                   slow_handle,
                                                   slow_destroy};

HOOKD_PLUGIN_EXPORT const hookd_plugin_descriptor* hookd_plugin_v1(void) {
  return &descriptor;
}
