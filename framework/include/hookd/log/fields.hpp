// Structured fields of the log lines a thread writes while a Fields object lives: the JSON
// format adds them as members ("route", "event_id", "peer", ...), so a log shipper can
// filter without parsing messages; the text format leaves them out (its messages say the
// same in words). spdlog logs synchronously here, so the formatter runs on the thread that
// set them. Nesting adds to the outer fields.
#pragma once

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace hookd::log {

using Field = std::pair<std::string, std::string>;  // key, value

class Fields {
 public:
  Fields(std::initializer_list<Field> fields);
  ~Fields();
  Fields(const Fields&) = delete;
  Fields& operator=(const Fields&) = delete;

 private:
  std::size_t previous_size_;
};

// The fields in effect on this thread, outermost first.
const std::vector<Field>& current_fields();

}  // namespace hookd::log
