/* hookd plugin ABI v1: the one header a handler plugin includes. Pure C (C99 and C++),
 * no allocation across the boundary; every pointer below says who owns it and for how long. */
#ifndef HOOKD_PLUGIN_H
#define HOOKD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

/* The ABI this header describes. hookd refuses a plugin whose abi_major differs from its
 * own. Minor versions only append fields at the end of the structs below (each struct
 * starts with or carries its own struct_size), so a plugin built against 1.x loads in any
 * hookd speaking 1.y, whatever x and y are. */
#define HOOKD_PLUGIN_ABI_MAJOR 1
#define HOOKD_PLUGIN_ABI_MINOR 0

/* Put on the entry point so it is exported even when the library is built with hidden
 * visibility (-fvisibility=hidden), which is recommended: export nothing else. */
#if defined(_WIN32)
#define HOOKD_PLUGIN_EXPORT __declspec(dllexport)
#else
#define HOOKD_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes that are not NUL-terminated and may contain NUL: `size` bytes starting at `data`.
 * `data` may be NULL when `size` is 0. */
typedef struct hookd_str {
  const char* data;
  size_t size;
} hookd_str;

/* One HTTP request header, in the order and spelling received. Names are case-insensitive
 * (compare them so). Authorization, Cookie and Proxy-Authorization carry "[redacted]". */
typedef struct hookd_header {
  hookd_str name;
  hookd_str value;
} hookd_header;

/* One delivery attempt of a stored event to this handler.
 *
 * Ownership: the event and everything it points to belong to hookd and are valid only
 * for the duration of the handle() call that receives them. Copy what you need to keep.
 * The plugin must not write through any of these pointers. */
typedef struct hookd_event {
  size_t struct_size;          /* sizeof the host's hookd_event; read later-minor fields only
                                  when struct_size covers them */
  hookd_str id;                /* the event id, unique within the route (dedupe key) */
  hookd_str route;             /* the route name from the config */
  hookd_str type;              /* the event type; size 0 when the route extracts none */
  int64_t received_at_us;      /* when hookd received it: unix time, microseconds */
  uint32_t attempt;            /* 1 for the first attempt, 2 for the first retry, ... */
  const hookd_header* headers; /* header_count entries; NULL when header_count is 0 */
  size_t header_count;
  /* The request body exactly as received: raw bytes, not NUL-terminated, may contain
   * NUL; NULL when body_size is 0. */
  const char* body;
  size_t body_size;
} hookd_event;

/* What handle() reports. Values other than these are treated as HOOKD_RETRY. */
typedef enum hookd_outcome {
  HOOKD_OK = 0,    /* done: the delivery is finished */
  HOOKD_RETRY = 1, /* try again later: after retry_after_ms, or the route's backoff */
  HOOKD_FAIL = 2   /* permanent failure: the delivery goes to dead at once */
} hookd_outcome;

/* Where handle() writes its answer. hookd owns this struct and the message buffer; both
 * are valid only during the handle() call.
 *
 * Before the call hookd sets: outcome = HOOKD_OK, retry_after_ms = 0, message[0] = '\0',
 * message_capacity >= 256 (bytes, including the terminating NUL), struct_size.
 *
 * Message rules: write a NUL-terminated UTF-8 text of at most message_capacity bytes
 * including the NUL; never write past message_capacity. A longer text must be cut by the
 * plugin (snprintf does this; hookd_result_set_message below also avoids cutting inside a
 * UTF-8 sequence). hookd reads up to the first NUL and at most message_capacity - 1
 * bytes, so a missing terminator costs the last byte, never memory safety. The message is
 * kept as the attempt's last_error (for retry and fail) and logged; put no secrets in it. */
typedef struct hookd_result {
  size_t struct_size;      /* sizeof the host's hookd_result */
  int32_t outcome;         /* a hookd_outcome value */
  uint32_t retry_after_ms; /* HOOKD_RETRY only: the earliest retry, in ms from now;
                              0 = use the handler's retry policy (backoff with jitter) */
  char* message;           /* host-owned buffer of message_capacity bytes */
  size_t message_capacity;
} hookd_result;

/* The plugin's descriptor, returned by hookd_plugin_v1().
 *
 * Lifetime: the descriptor and `name` must stay valid and unchanged until the library
 * is unloaded (use static storage). hookd copies what it needs right after the call.
 *
 * Threading, for all three functions:
 *  - create() may run on any thread, also while other instances of the same plugin are
 *    handling events (a config reload creates new instances before old ones go away).
 *  - handle() runs on hookd's worker threads, never on a network I/O thread. It may run
 *    concurrently on ONE instance from several threads, unless every route handler that
 *    names the plugin has `concurrency: 1` (one instance serves them all). Guard any
 *    mutable instance state accordingly.
 *  - destroy() runs once per successful create(), after every handle() call on that
 *    instance has returned, and before the library is unloaded.
 *  - hookd does not interrupt a running call: a handler should bound its own blocking
 *    operations (network, subprocesses) below the configured handler_timeout.
 *
 * Errors: no C++ exception, longjmp or thread cancellation may leave these functions
 * (plugin.hpp catches exceptions for C++ authors). Do not call exit(), do not install
 * signal handlers and do not dlclose anything hookd loaded. */
typedef struct hookd_plugin_descriptor {
  /* abi_major and abi_minor stay the first two fields in every ABI version, so that any
   * hookd can read them and refuse a mismatch before trusting anything else. */
  uint32_t abi_major; /* HOOKD_PLUGIN_ABI_MAJOR of the header the plugin was built with */
  uint32_t abi_minor; /* HOOKD_PLUGIN_ABI_MINOR likewise */
  size_t struct_size; /* sizeof(hookd_plugin_descriptor) as the plugin was built */
  const char* name;   /* short NUL-terminated name for logs, e.g. "log"; not NULL */

  /* Makes one handler instance from the plugin's `config:` block of the hookd config,
   * given as YAML text: `config_yaml` points to `config_len` bytes followed by a NUL
   * (owned by hookd, valid during the call); an empty text when there is no config.
   * Returns the instance, an opaque pointer owned by the plugin until destroy() gets it
   * back. On failure returns NULL and writes a NUL-terminated reason of at most
   * `error_len` bytes (including the NUL) into `error_buf` (hookd-owned, error_buf[0] is
   * '\0' before the call, error_len >= 256); hookd then refuses the config and shows
   * the reason. A stateless plugin returns any non-NULL pointer, e.g. of a static. */
  void* (*create)(const char* config_yaml, size_t config_len, char* error_buf, size_t error_len);

  /* Handles one delivery attempt. `instance` is what create() returned; `event` and
   * `result` are described above. Report the outcome in `result`, not by return value. */
  void (*handle)(void* instance, const hookd_event* event, hookd_result* result);

  /* Frees an instance. After it returns hookd never uses `instance` again. */
  void (*destroy)(void* instance);
} hookd_plugin_descriptor;

/* The one symbol a plugin exports. Returns the plugin's descriptor (see its lifetime
 * above), or NULL when the plugin cannot work in this process at all. hookd may call it
 * more than once and from any thread; return the same descriptor each time. Define it as
 *   HOOKD_PLUGIN_EXPORT const hookd_plugin_descriptor* hookd_plugin_v1(void) { ... } */
typedef const hookd_plugin_descriptor* (*hookd_plugin_entry_fn)(void);
HOOKD_PLUGIN_EXPORT const hookd_plugin_descriptor* hookd_plugin_v1(void);

#define HOOKD_PLUGIN_ENTRY_SYMBOL "hookd_plugin_v1"

/* Copies `text` (NUL-terminated) into result->message, cut to fit message_capacity
 * without splitting a UTF-8 sequence, and NUL-terminates it. */
static inline void hookd_result_set_message(hookd_result* result, const char* text) {
  size_t n = 0;
  if (result->message == NULL || result->message_capacity == 0) return;
  while (text[n] != '\0') ++n;
  if (n > result->message_capacity - 1) {
    n = result->message_capacity - 1;
    /* back off to the start of a UTF-8 sequence when the cut lands inside one */
    while (n > 0 && (text[n] & 0xC0) == 0x80) --n;
  }
  for (size_t i = 0; i < n; ++i) result->message[i] = text[i];
  result->message[n] = '\0';
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* HOOKD_PLUGIN_H */
