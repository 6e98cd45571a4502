/* Fixture plugins with a broken descriptor, one library per define: wrong_abi (abi_major 2),
 * small_descriptor (struct_size too small), null_descriptor, no_name, no_handle. */
#include <stddef.h>

#include "hookd/plugin.h"

static int instance_token;

static void* bad_create(const char* c, size_t n, char* e, size_t el) {
  (void)c, (void)n, (void)e, (void)el;
  return (void*)&instance_token;
}
static void bad_handle(void* i, const hookd_event* ev, hookd_result* r) {
  (void)i, (void)ev, (void)r;
}
static void bad_destroy(void* i) {
  (void)i;
}

#if defined(FIXTURE_WRONG_ABI)
static const hookd_plugin_descriptor descriptor = {
    2, 0, sizeof(hookd_plugin_descriptor), "wrong_abi", bad_create, bad_handle, bad_destroy};
#elif defined(FIXTURE_SMALL_DESCRIPTOR)
/* as if built against an ABI 1 header that ended before destroy */
static const hookd_plugin_descriptor descriptor = {HOOKD_PLUGIN_ABI_MAJOR,
                                                   0,
                                                   offsetof(hookd_plugin_descriptor, destroy),
                                                   "small_descriptor",
                                                   bad_create,
                                                   bad_handle,
                                                   bad_destroy};
#elif defined(FIXTURE_NO_NAME)
static const hookd_plugin_descriptor descriptor = {HOOKD_PLUGIN_ABI_MAJOR,
                                                   0,
                                                   sizeof(hookd_plugin_descriptor),
                                                   NULL,
                                                   bad_create,
                                                   bad_handle,
                                                   bad_destroy};
#elif defined(FIXTURE_NO_HANDLE)
static const hookd_plugin_descriptor descriptor = {HOOKD_PLUGIN_ABI_MAJOR,
                                                   0,
                                                   sizeof(hookd_plugin_descriptor),
                                                   "no_handle",
                                                   bad_create,
                                                   NULL,
                                                   bad_destroy};
#endif

HOOKD_PLUGIN_EXPORT const hookd_plugin_descriptor* hookd_plugin_v1(void) {
  (void)bad_create, (void)bad_handle, (void)bad_destroy; /* some variants leave one out */
#if defined(FIXTURE_NULL_DESCRIPTOR)
  return NULL;
#else
  return &descriptor;
#endif
}
