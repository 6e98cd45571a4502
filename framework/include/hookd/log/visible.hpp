// Text that comes from outside (event ids and types, header values, bodies, plugin
// messages, request paths) made safe to print to a log line or a terminal: control
// characters (C0, DEL, and the C1 range U+0080..U+009F, which terminals read as CSI, OSC
// ...) and bytes that are not UTF-8 are written as visible escapes, so that a newline
// cannot forge a log line and an escape sequence cannot reach the operator's terminal
// (OSC 52 writes the clipboard, OSC 0 the title, CSI 2J clears the screen).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hookd::log {

// The length of the valid UTF-8 sequence (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF) at the start of `s`, or 0. `s` must not be empty.
std::size_t utf8_sequence(std::string_view s);

bool valid_utf8(std::string_view s);

enum class Newlines {
  escape,  // \n and \r as "\n" and "\r", tab as "\t": one log line or one table cell
  keep,    // \n and tab kept (a body shown on a terminal); \r escaped all the same
};

// `text` with \n, \r and \t as "\n", "\r", "\t" (unless kept), other C0 characters and DEL
// as "\x1b", C1 code points as "\u009b" and each byte that is not part of valid UTF-8 as
// "\xff". Everything else (printable ASCII, other UTF-8, backslashes) as it is.
void append_visible(std::string_view text, std::string& out, Newlines newlines = Newlines::escape);
std::string visible(std::string_view text, Newlines newlines = Newlines::escape);

// Whether append_visible would change `text` (the common case, no: no copy needed).
bool needs_escaping(std::string_view text, Newlines newlines = Newlines::escape);

}  // namespace hookd::log
