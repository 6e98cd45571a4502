/* hookd_bench_noop: a handler plugin that does nothing and answers ok, so the delivery
 * benchmark measures the engine (claim, hand-off, result write), not a handler. */
#include "hookd/plugin.h"

static int token;

static void* noop_create(const char* c, size_t n, char* e, size_t el) {
  (void)c, (void)n, (void)e, (void)el;
  return &token;
}

static void noop_handle(void* instance, const hookd_event* event, hookd_result* result) {
  (void)instance, (void)event;
  result->outcome = HOOKD_OK;
}

static void noop_destroy(void* instance) {
  (void)instance;
}

HOOKD_PLUGIN_EXPORT const hookd_plugin_descriptor* hookd_plugin_v1(void) {
  static const hookd_plugin_descriptor d = {HOOKD_PLUGIN_ABI_MAJOR, HOOKD_PLUGIN_ABI_MINOR,
                                            sizeof(hookd_plugin_descriptor), "noop",
                                            noop_create, noop_handle, noop_destroy};
  return &d;
}
