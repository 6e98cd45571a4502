// An incremental HTTP/1.1 response parser for the HTTPS client: status line, headers,
// and a body framed by Content-Length, chunked encoding or the end of the connection.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hookd::https {

struct Response {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;  // the (de-chunked) body, at most the parser's body limit

  // The first header named `lower_name`, if any.
  std::optional<std::string_view> header(std::string_view lower_name) const;
};

// Feed bytes as they arrive, then eof() when the peer closes. Interim 1xx responses are
// skipped. Only the first `body_limit` body bytes are kept; body_full() says when enough
// has been seen to stop reading. Not thread-safe (one per exchange).
class ResponseParser {
 public:
  explicit ResponseParser(std::size_t body_limit) : body_limit_(body_limit) {}

  void feed(std::string_view data);
  void eof();

  bool head_done() const { return head_done_; }  // status and headers are known
  bool done() const { return state_ == State::done; }
  bool failed() const { return state_ == State::error; }
  bool body_full() const { return head_done_ && response_.body.size() >= body_limit_; }
  bool truncated() const { return truncated_; }  // body bytes past the limit were dropped
  const std::string& error() const { return error_; }
  const Response& response() const { return response_; }

 private:
  enum class State {
    head,
    length,
    chunk_size,
    chunk_data,
    chunk_crlf,
    trailers,
    until_close,
    done,
    error
  };
  bool step();  // one parsing step over buffer_; false when it needs more input
  bool parse_head(std::string_view head);
  void keep(std::string_view bytes);
  void fail(std::string why);

  std::size_t body_limit_;
  State state_ = State::head;
  bool head_done_ = false;
  bool truncated_ = false;
  std::string buffer_;
  std::size_t remaining_ = 0;  // body bytes left (length) or chunk bytes left
  Response response_;
  std::string error_;
};

}  // namespace hookd::https
