// Which headers the forward plugin copies, sets or refuses in `headers:`, and what makes a
// header name or value safe to send. Shared by the handler and its config reader.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace hookd::plugins::forward {

std::string to_lower(std::string_view s);
bool one_of(std::string_view lower_name, std::initializer_list<std::string_view> names);
// Never copied from the event: hop-by-hop, recomputed here, or redacted by hookd.
bool dropped_header(std::string_view lower);
// Set by the plugin itself; neither copied from the event nor accepted in `headers:`.
bool own_header(std::string_view lower);
// Signature headers of the schemes hookd verifies; dropped when re-signing.
bool signature_header(std::string_view lower);
// An RFC 9110 token.
bool valid_name(std::string_view name);
// No CR, LF, NUL or other control character except tab: nothing that could split a header.
bool valid_value(std::string_view value);
// Control characters become '?' so an odd event id cannot break the request.
std::string safe_value(std::string_view value);

}  // namespace hookd::plugins::forward
