/* Fixture plugin "retry_fail": the outcome comes from the body. "retry" → HOOKD_RETRY after
 * 250 ms, "fail" → HOOKD_FAIL, "invalid" → outcome 42, "overflow" → fills the whole message
 * buffer without a NUL; anything else → HOOKD_OK with "id route type attempt headers". */
#include <stdio.h>
#include <string.h>

#include "hookd/plugin.h"

static int body_is(const hookd_event* ev, const char* text) {
  size_t n = strlen(text);
  return ev->body_size == n && memcmp(ev->body, text, n) == 0;
}

static int instance_token;

/* printf's %.*s wants a non-NULL pointer even for zero bytes */
static const char* text(hookd_str s) {
  return s.size > 0 ? s.data : "";
}

static void* rf_create(const char* c, size_t n, char* e, size_t el) {
  (void)c, (void)n, (void)e, (void)el;
  return (void*)&instance_token; /* stateless: any non-NULL pointer */
}

static void rf_handle(void* instance, const hookd_event* ev, hookd_result* result) {
  (void)instance;
  if (body_is(ev, "retry")) {
    result->outcome = HOOKD_RETRY;
    result->retry_after_ms = 250;
    hookd_result_set_message(result, "downstream busy");
  } else if (body_is(ev, "fail")) {
    result->outcome = HOOKD_FAIL;
    hookd_result_set_message(result, "unknown participant");
  } else if (body_is(ev, "invalid")) {
    result->outcome = 42;
    hookd_result_set_message(result, "confused");
  } else if (body_is(ev, "overflow")) {
    memset(result->message, 'x', result->message_capacity);
  } else {
    size_t total = 0;
    for (size_t i = 0; i < ev->header_count; ++i) total += ev->headers[i].value.size;
    snprintf(result->message, result->message_capacity, "%.*s %.*s %.*s %u %zu %zu %lld",
             (int)ev->id.size, text(ev->id), (int)ev->route.size, text(ev->route),
             (int)ev->type.size, text(ev->type), (unsigned)ev->attempt, ev->header_count, total,
             (long long)ev->received_at_us);
  }
}

static void rf_destroy(void* instance) {
  (void)instance;
}

static const hookd_plugin_descriptor descriptor = {HOOKD_PLUGIN_ABI_MAJOR,
                                                   HOOKD_PLUGIN_ABI_MINOR,
                                                   sizeof(hookd_plugin_descriptor),
                                                   "retry_fail",
                                                   rf_create,
                                                   rf_handle,
                                                   rf_destroy};

HOOKD_PLUGIN_EXPORT const hookd_plugin_descriptor* hookd_plugin_v1(void) {
  return &descriptor;
}
