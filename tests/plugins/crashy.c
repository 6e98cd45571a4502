/* Fixture plugin "crashy" for the process-isolation tests: the body says what to do.
 * Containing "segv": dies of SIGSEGV; "abort": abort(); "exit3": exit(3); "hang": never
 * returns; "alloc": allocates and touches 1 MiB blocks forever and, like careless code,
 * writes through the NULL that malloc returns at last (for memory_limit); "spin": burns
 * CPU forever (for cpu_limit); "burn": burns 200 ms of CPU, then goes on as below; "sleep"
 * sleeps 30 s then answers ok (an innocent call in flight), "doze" 1 s, "nap" 200 ms; "retry":
 * HOOKD_RETRY after 1500 ms, message "try later"; "fail": HOOKD_FAIL, message "no".
 * Anything else: HOOKD_OK with a message echoing every event field
 * ("id|route|type|received_at|attempt|name=value;...|hex of body").
 * Config "fail_create" makes create() fail with a reason; "crash_create" makes it die;
 * "hang_create" makes it never return, "hang_destroy" makes destroy() never return. Config
 * "marks: PREFIX" makes every call create the file PREFIX<event id> first thing, so that a
 * test can wait until a call is inside the plugin instead of sleeping for a while, and
 * destroy() create PREFIXdestroy. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hookd/plugin.h"

static int has(const char* data, size_t size, const char* needle) {
  size_t n = strlen(needle);
  size_t i;
  for (i = 0; i + n <= size; ++i) {
    if (memcmp(data + i, needle, n) == 0) return 1;
  }
  return 0;
}

static void die_of(int sig) {
  signal(sig, SIG_DFL); /* a sanitizer's handler would turn it into an exit */
  raise(sig);
}

/* Uses `ms` of this thread's CPU time. */
static void burn_cpu_ms(long ms) {
  struct timespec start, now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
  do {
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
}

typedef struct crashy_instance {
  char marks[1024]; /* the `marks:` prefix; empty: no marker files */
  int hang_destroy;
} crashy_instance;

/* The value of `marks:` in the config (plain, or in a YAML flow map), "" when absent. */
static void read_marks(const char* config, size_t len, char* out, size_t cap) {
  size_t i, n = 0;
  out[0] = '\0';
  for (i = 0; i + 6 <= len; ++i) {
    if (memcmp(config + i, "marks:", 6) == 0) break;
  }
  if (i + 6 > len) return;
  for (i += 6; i < len && (config[i] == ' ' || config[i] == '"' || config[i] == '\''); ++i) {
  }
  for (; i < len && n + 1 < cap && strchr(" ,}\n\"'", config[i]) == NULL; ++i) out[n++] = config[i];
  out[n] = '\0';
}

static void* crashy_create(const char* config, size_t len, char* error_buf, size_t error_len) {
  crashy_instance* self;
  if (has(config, len, "fail_create")) {
    snprintf(error_buf, error_len, "refused: fail_create is set");
    return NULL;
  }
  if (has(config, len, "crash_create")) die_of(SIGSEGV);
  if (has(config, len, "hang_create")) {
    for (;;) pause();
  }
  self = (crashy_instance*)calloc(1, sizeof *self);
  if (self == NULL) {
    snprintf(error_buf, error_len, "out of memory");
    return NULL;
  }
  read_marks(config, len, self->marks, sizeof self->marks);
  self->hang_destroy = has(config, len, "hang_destroy");
  return self;
}

/* Creates PREFIX<name> when `marks:` is set. */
static void mark(const crashy_instance* self, const char* name, int len) {
  char path[2048];
  int fd;
  if (self->marks[0] == '\0') return;
  snprintf(path, sizeof path, "%s%.*s", self->marks, len, name);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) close(fd);
}

/* PREFIX<event id>: the call is in handle() now. */
static void mark_started(const crashy_instance* self, const hookd_event* ev) {
  mark(self, ev->id.data, (int)ev->id.size);
}

static void append(char* out, size_t cap, size_t* at, const char* data, size_t size) {
  size_t n = size < cap - 1 - *at ? size : cap - 1 - *at;
  memcpy(out + *at, data, n);
  *at += n;
  out[*at] = '\0';
}

static void crashy_handle(void* instance, const hookd_event* ev, hookd_result* result) {
  const char* body = ev->body;
  size_t size = ev->body_size;
  mark_started((const crashy_instance*)instance, ev);
  if (has(body, size, "segv")) die_of(SIGSEGV);
  if (has(body, size, "abort")) abort();
  if (has(body, size, "exit3")) exit(3);
  if (has(body, size, "hang")) {
    for (;;) pause();
  }
  if (has(body, size, "alloc")) {
    for (;;) {
      char* block = malloc(1 << 20);
      memset(block, 1, 1 << 20); /* NULL at the limit: SIGSEGV */
    }
  }
  if (has(body, size, "spin")) {
    volatile unsigned long n = 0;
    for (;;) ++n;
  }
  if (has(body, size, "burn")) burn_cpu_ms(200);
  if (has(body, size, "sleep")) {
    struct timespec ts = {30, 0};
    while (nanosleep(&ts, &ts) != 0) {
    }
  }
  if (has(body, size, "doze")) {
    struct timespec ts = {1, 0};
    while (nanosleep(&ts, &ts) != 0) {
    }
  }
  if (has(body, size, "nap")) {
    struct timespec ts = {0, 200000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
  }
  if (has(body, size, "retry")) {
    result->outcome = HOOKD_RETRY;
    result->retry_after_ms = 1500;
    hookd_result_set_message(result, "try later");
    return;
  }
  if (has(body, size, "fail")) {
    result->outcome = HOOKD_FAIL;
    hookd_result_set_message(result, "no");
    return;
  }
  {
    char* out = result->message;
    size_t cap = result->message_capacity, at = 0, i;
    char num[64];
    if (cap == 0) return;
    out[0] = '\0';
    append(out, cap, &at, ev->id.data, ev->id.size);
    append(out, cap, &at, "|", 1);
    append(out, cap, &at, ev->route.data, ev->route.size);
    append(out, cap, &at, "|", 1);
    append(out, cap, &at, ev->type.data, ev->type.size);
    snprintf(num, sizeof num, "|%lld|%lu|", (long long)ev->received_at_us,
             (unsigned long)ev->attempt);
    append(out, cap, &at, num, strlen(num));
    for (i = 0; i < ev->header_count; ++i) {
      append(out, cap, &at, ev->headers[i].name.data, ev->headers[i].name.size);
      append(out, cap, &at, "=", 1);
      append(out, cap, &at, ev->headers[i].value.data, ev->headers[i].value.size);
      append(out, cap, &at, ";", 1);
    }
    append(out, cap, &at, "|", 1);
    for (i = 0; i < size; ++i) {
      snprintf(num, sizeof num, "%02x", (unsigned)(unsigned char)body[i]);
      append(out, cap, &at, num, 2);
    }
    result->outcome = HOOKD_OK;
  }
}

static void crashy_destroy(void* instance) {
  mark((crashy_instance*)instance, "destroy", 7); /* PREFIXdestroy: destroy() has begun */
  if (((crashy_instance*)instance)->hang_destroy) {
    for (;;) pause();
  }
  free(instance);
}

static const hookd_plugin_descriptor descriptor = {HOOKD_PLUGIN_ABI_MAJOR,
                                                   HOOKD_PLUGIN_ABI_MINOR,
                                                   sizeof(hookd_plugin_descriptor),
                                                   "crashy",
                                                   crashy_create,
                                                   crashy_handle,
                                                   crashy_destroy};

HOOKD_PLUGIN_EXPORT const hookd_plugin_descriptor* hookd_plugin_v1(void) {
  return &descriptor;
}
