/* Fixture plugin "ok": every event is HOOKD_OK and the message echoes the instance's
 * config text (cut to the host's buffer), so tests see create, handle and truncation. */
#include <stdlib.h>
#include <string.h>

#include "hookd/plugin.h"

typedef struct ok_instance {
  char* config;
} ok_instance;

static void* ok_create(const char* config_yaml, size_t config_len, char* error_buf,
                       size_t error_len) {
  ok_instance* self = (ok_instance*)malloc(sizeof *self);
  (void)error_buf;
  (void)error_len;
  if (self == NULL) return NULL;
  self->config = (char*)malloc(config_len + 1);
  if (self->config == NULL) {
    free(self);
    return NULL;
  }
  memcpy(self->config, config_yaml, config_len + 1); /* the host adds the NUL */
  return self;
}

static void ok_handle(void* instance, const hookd_event* event, hookd_result* result) {
  const ok_instance* self = (const ok_instance*)instance;
  (void)event;
  result->outcome = HOOKD_OK;
  hookd_result_set_message(result, self->config);
}

static void ok_destroy(void* instance) {
  ok_instance* self = (ok_instance*)instance;
  free(self->config);
  free(self);
}

static const hookd_plugin_descriptor descriptor = {HOOKD_PLUGIN_ABI_MAJOR,
                                                   HOOKD_PLUGIN_ABI_MINOR,
                                                   sizeof(hookd_plugin_descriptor),
                                                   "ok",
                                                   ok_create,
                                                   ok_handle,
                                                   ok_destroy};

HOOKD_PLUGIN_EXPORT const hookd_plugin_descriptor* hookd_plugin_v1(void) {
  return &descriptor;
}
