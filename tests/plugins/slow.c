/* Fixture plugin "slow": handle() sleeps for the `sleep_ms: N` of its config, then is
 * HOOKD_OK; for timeout and concurrency tests. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hookd/plugin.h"

typedef struct slow_instance {
  long sleep_ms;
} slow_instance;

static void* slow_create(const char* config, size_t len, char* error_buf, size_t error_len) {
  const char* key = strstr(config, "sleep_ms:");
  slow_instance* self;
  (void)len;
  if (key == NULL) {
    static const char msg[] = "missing sleep_ms";
    if (error_len >= sizeof msg) memcpy(error_buf, msg, sizeof msg);
    return NULL;
  }
  self = (slow_instance*)malloc(sizeof *self);
  if (self == NULL) return NULL;
  self->sleep_ms = strtol(key + strlen("sleep_ms:"), NULL, 10);
  return self;
}

static void slow_handle(void* instance, const hookd_event* event, hookd_result* result) {
  const slow_instance* self = (const slow_instance*)instance;
  struct timespec ts;
  (void)event;
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
