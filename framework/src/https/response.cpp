// Incremental HTTP/1.1 response parsing; see response.hpp.
#include "hookd/https/response.hpp"

#include <algorithm>
#include <charconv>

namespace hookd::https {
namespace {

constexpr std::size_t kMaxHead = 64 * 1024;  // status line and headers; one trailer
constexpr std::size_t kMaxChunkLine = 1024;  // a chunk size with its extensions

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool contains_token(std::string_view list, std::string_view token) {
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    if (to_lower(trim(list.substr(start, comma - start))) == token) return true;
    start = comma + 1;
  }
  return false;
}

}  // namespace

std::optional<std::string_view> Response::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return std::string_view(value);
  }
  return std::nullopt;
}

void ResponseParser::feed(std::string_view data) {
  if (state_ == State::done || state_ == State::error) return;
  buffer_.append(data);
  while (step()) {
  }
}

void ResponseParser::eof() {
  switch (state_) {
    case State::until_close:
      state_ = State::done;
      break;
    case State::head:
      fail(buffer_.empty() ? "the server closed the connection without a response"
                           : "the server closed the connection in the middle of the headers");
      break;
    case State::done:
    case State::error:
      break;
    default:
      fail("the server closed the connection in the middle of the body");
  }
}

void ResponseParser::fail(std::string why) {
  state_ = State::error;
  error_ = std::move(why);
}

void ResponseParser::keep(std::string_view bytes) {
  const std::size_t room = body_limit_ - std::min(body_limit_, response_.body.size());
  response_.body.append(bytes.substr(0, std::min(room, bytes.size())));
  truncated_ = truncated_ || bytes.size() > room;
}

bool ResponseParser::step() {
  switch (state_) {
    case State::head: {
      // Each limit is on the text before its terminator, checked the same way whether the
      // terminator came in this read or not (a terminator may be cut after any of its bytes
      // but the last), so that the answer never depends on how the bytes arrived.
      const auto end = buffer_.find("\r\n\r\n");
      if (end == std::string::npos ? buffer_.size() > kMaxHead + 3 : end > kMaxHead) {
        fail("the response headers are too large");
        return false;
      }
      if (end == std::string::npos) return false;
      const std::string head = buffer_.substr(0, end + 2);
      buffer_.erase(0, end + 4);
      return parse_head(head);
    }
    case State::length: {
      const std::size_t n = std::min(remaining_, buffer_.size());
      keep(std::string_view(buffer_).substr(0, n));
      buffer_.erase(0, n);
      remaining_ -= n;
      if (remaining_ == 0) state_ = State::done;
      return remaining_ == 0;
    }
    case State::until_close:
      keep(buffer_);
      buffer_.clear();
      return false;
    case State::chunk_size: {
      const auto eol = buffer_.find("\r\n");
      if (eol == std::string::npos ? buffer_.size() > kMaxChunkLine + 1 : eol > kMaxChunkLine) {
        fail("bad chunk size line");
        return false;
      }
      if (eol == std::string::npos) return false;
      std::string_view line = std::string_view(buffer_).substr(0, eol);
      line = trim(line.substr(0, line.find(';')));  // drop chunk extensions
      std::size_t size = 0;
      const auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
      if (line.empty() || ec != std::errc() || ptr != line.data() + line.size()) {
        fail("bad chunk size line");
        return false;
      }
      buffer_.erase(0, eol + 2);
      remaining_ = size;
      state_ = size == 0 ? State::trailers : State::chunk_data;
      return true;
    }
    case State::chunk_data: {
      const std::size_t n = std::min(remaining_, buffer_.size());
      keep(std::string_view(buffer_).substr(0, n));
      buffer_.erase(0, n);
      remaining_ -= n;
      if (remaining_ > 0) return false;
      state_ = State::chunk_crlf;
      return true;
    }
    case State::chunk_crlf:
      if (buffer_.size() < 2) return false;
      if (buffer_.compare(0, 2, "\r\n") != 0) {
        fail("chunk data not followed by CRLF");
        return false;
      }
      buffer_.erase(0, 2);
      state_ = State::chunk_size;
      return true;
    case State::trailers: {
      const auto eol = buffer_.find("\r\n");
      if (eol == std::string::npos ? buffer_.size() > kMaxHead + 1 : eol > kMaxHead) {
        fail("the response trailers are too large");
        return false;
      }
      if (eol == std::string::npos) return false;
      buffer_.erase(0, eol + 2);
      if (eol == 0) state_ = State::done;  // the empty line ends the trailers
      return eol != 0;
    }
    case State::done:
    case State::error:
      return false;
  }
  return false;
}

bool ResponseParser::parse_head(std::string_view head) {
  // Status line: HTTP/1.x SP 3DIGIT [SP reason]
  const auto eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ' ||
      (line.size() > 12 && line[12] != ' ')) {
    fail("not an HTTP/1.x response");
    return false;
  }
  int status = 0;
  const auto [ptr, ec] = std::from_chars(line.data() + 9, line.data() + 12, status);
  if (ec != std::errc() || ptr != line.data() + 12 || status < 100 || status > 599) {
    fail("bad status code in the response");
    return false;
  }
  Response response;
  response.status = status;
  response.reason = std::string(trim(line.size() > 12 ? line.substr(13) : std::string_view()));
  std::string_view rest = head.substr(eol + 2);
  while (!rest.empty()) {
    const auto end = rest.find("\r\n");
    const std::string_view field = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    if (field.empty()) continue;
    if ((field.front() == ' ' || field.front() == '\t') && !response.headers.empty()) {
      response.headers.back().second += " " + std::string(trim(field));  // obs-fold
      continue;
    }
    const auto colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      fail("bad header line in the response");
      return false;
    }
    response.headers.emplace_back(to_lower(trim(field.substr(0, colon))),
                                  std::string(trim(field.substr(colon + 1))));
  }
  if (status < 200) {
    if (status == 101) {
      fail("unexpected 101 Switching Protocols");
      return false;
    }
    return true;  // interim response (100, 103): the real one follows
  }
  response_ = std::move(response);
  head_done_ = true;
  if (status == 204 || status == 304) {
    state_ = State::done;
    return false;
  }
  if (const auto te = response_.header("transfer-encoding")) {
    state_ = contains_token(*te, "chunked") ? State::chunk_size : State::until_close;
    return true;
  }
  if (const auto cl = response_.header("content-length")) {
    std::size_t length = 0;
    const auto [p, e] = std::from_chars(cl->data(), cl->data() + cl->size(), length);
    if (cl->empty() || e != std::errc() || p != cl->data() + cl->size()) {
      fail("bad Content-Length in the response");
      return false;
    }
    remaining_ = length;
    state_ = length == 0 ? State::done : State::length;
    return length != 0;
  }
  state_ = State::until_close;
  return true;
}

}  // namespace hookd::https
