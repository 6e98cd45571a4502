/* Fixture plugin "missing_symbol": a well-formed descriptor behind a misspelled entry
 * point, so the library loads but exports no hookd_plugin_v1. */
#include "hookd/plugin.h"

static int instance_token;

static void* ms_create(const char* c, size_t n, char* e, size_t el) {
  (void)c, (void)n, (void)e, (void)el;
  return (void*)&instance_token;
}
static void ms_handle(void* i, const hookd_event* ev, hookd_result* r) {
  (void)i, (void)ev, (void)r;
}
static void ms_destroy(void* i) {
  (void)i;
}

static const hookd_plugin_descriptor descriptor = {HOOKD_PLUGIN_ABI_MAJOR,
                                                   HOOKD_PLUGIN_ABI_MINOR,
                                                   sizeof(hookd_plugin_descriptor),
                                                   "missing_symbol",
                                                   ms_create,
                                                   ms_handle,
                                                   ms_destroy};

HOOKD_PLUGIN_EXPORT const hookd_plugin_descriptor* hookd_plugin_v0(void);
HOOKD_PLUGIN_EXPORT const hookd_plugin_descriptor* hookd_plugin_v0(void) {
  return &descriptor;
}
